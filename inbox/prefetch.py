"""Before a batch: one query each for what its messages would otherwise ask one by one.

The answers go into the batch memo; a step that finds no answer there (a batch redone
message by message after a failure clears it) asks the database as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import getaddresses

from sqlalchemy.orm import Session

from crm import blobs, cases, constituents, correspondence, late_parents
from crm.tags import store
from inbox.context import BatchMemo
from inbox.message import ParsedMessage
from inbox.thread_index import OpenCases, ThreadIndex, named

HELD_KEYS = "held dedupe keys"  # dedupe keys of messages already stored
# The person each address of the batch belongs to, None for an address nobody has yet.
KNOWN_PEOPLE = "known constituents"
# The batch's raw bytes, stored together before the steps: sha256 by id() of the bytes.
STORED_BLOBS = "raw blobs stored"
AWAITED = "awaited message ids"  # Message-IDs that replies without a case are waiting for
THREADS = "cases of named messages"  # inbox.thread_index
OPEN_CASES = "open cases by subject"  # inbox.thread_index, for the people known above
CASE_TAG_ROWS = "tag rows of those cases"  # each case's, until its first message is tagged


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
    known = {person.id for person in people.values()}
    memo.values[OPEN_CASES] = OpenCases(known, cases.open_by_subject(session, known))
    own_ids = [parsed.message_id for _, parsed in messages if parsed.message_id]
    memo.values[AWAITED] = late_parents.awaited(session, own_ids)
    asked = {message_id for _, parsed in messages for message_id in named(parsed)}
    newest = cases.newest_with_case(session, asked)
    answered = {case_id for _, case_id in newest.values()}
    for case in cases.by_ids(session, answered):
        memo.hold(case)  # the cases replies will be put on, in the session for the batch
    memo.values[THREADS] = ThreadIndex(asked, newest)
    tag_rows = store.rows_of_cases(session, answered)
    memo.held.extend(row for rows in tag_rows.values() for row in rows)
    memo.values[CASE_TAG_ROWS] = tag_rows


def _addresses(parsed: ParsedMessage) -> list[str]:
    """Every address the constituent step may look up: sender, Reply-To, recipients."""
    found = [a.email for a in [parsed.sender, *parsed.to, *parsed.cc] if a is not None]
    found += [email for _, email in getaddresses(parsed.headers.get("reply-to", []))]
    return [email.lower() for email in found if "@" in email]
