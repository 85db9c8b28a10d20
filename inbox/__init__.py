"""Email in: fetch from IMAP or files, store raw, parse, classify, thread, hand to crm."""
