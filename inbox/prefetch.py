"""Before a batch: one query each for what its messages would otherwise ask one by one.

The answers go into the batch memo; a step that finds no answer there (a batch redone
message by message after a failure clears it) asks the database as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import getaddresses

from sqlalchemy.orm import Session

from crm import blobs, constituents, correspondence, late_parents
from inbox.context import BatchMemo
from inbox.message import ParsedMessage

HELD_KEYS = "held dedupe keys"  # dedupe keys of messages already stored
# The person each address of the batch belongs to, None for an address nobody has yet.
KNOWN_PEOPLE = "known constituents"
# The batch's raw bytes, stored together before the steps: sha256 by id() of the bytes.
STORED_BLOBS = "raw blobs stored"
AWAITED = "awaited message ids"  # Message-IDs that replies without a case are waiting for


def prefetch(session: Session, memo: BatchMemo, batch: Sequence[tuple[bytes, object]]) -> None:
    """Fill the memo when every message of the batch was parsed ahead of time."""
    if not batch or not all(isinstance(parsed, ParsedMessage) for _, parsed in batch):
        return
    messages = [(raw, parsed) for raw, parsed in batch if isinstance(parsed, ParsedMessage)]
    raws = [raw for raw, _ in messages]
    digests = blobs.store_blobs(session, raws)
    memo.values[STORED_BLOBS] = {id(raw): sha for raw, sha in zip(raws, digests, strict=True)}
    keys = [
        correspondence.dedupe_key(parsed.message_id, sha)
        for (_, parsed), sha in zip(messages, digests, strict=True)
    ]
    memo.values[HELD_KEYS] = correspondence.held_keys(session, keys)
    emails = {address for _, parsed in messages for address in _addresses(parsed)}
    people = constituents.people_by_email(session, emails)
    memo.values[KNOWN_PEOPLE] = {email: people.get(email) for email in emails}
    own_ids = [parsed.message_id for _, parsed in messages if parsed.message_id]
    memo.values[AWAITED] = late_parents.awaited(session, own_ids)


def _addresses(parsed: ParsedMessage) -> list[str]:
    """Every address the constituent step may look up: sender, Reply-To, recipients."""
    found = [a.email for a in [parsed.sender, *parsed.to, *parsed.cc] if a is not None]
    found += [email for _, email in getaddresses(parsed.headers.get("reply-to", []))]
    return [email.lower() for email in found if "@" in email]
