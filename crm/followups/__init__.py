"""Follow-ups: waiting for third parties to reply, and chasing them when they do not."""
