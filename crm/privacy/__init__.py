"""Data protection: subject access, erasure (by policy or on request), the audit log's
export, and backups of the embedded database."""
