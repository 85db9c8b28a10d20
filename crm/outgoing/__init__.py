"""Outgoing correspondence: the third-party directory, the outbox, SMTP and acknowledgements."""
