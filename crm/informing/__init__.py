"""Keeping people informed: councillors' requests, status emails and councillors' digests."""
