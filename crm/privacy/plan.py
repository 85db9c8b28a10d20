"""What one erasure takes: seed rows, everything that belongs to them, the constituents left
with nothing, and the raw blobs no remaining row needs. Planning only reads."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, select, tuple_
from sqlalchemy.orm import Session

from crm.models import Message
from crm.privacy import copies
from crm.privacy.graph import Link, links_to, table

CHUNK = 500
Key = Any  # a primary key value, or a tuple of them for a composite key


@dataclass
class Plan:
    """Primary keys per table to delete, pointers to clear, blobs to drop."""

    rows: dict[str, set[Key]] = field(default_factory=dict)
    detach: dict[tuple[str, str], set[Key]] = field(default_factory=dict)
    blobs: set[str] = field(default_factory=set)
    # In a dry run, what earlier plans of the same run take: treated as gone already.
    earlier: Plan | None = None

    def ids(self, name: str) -> set[Key]:
        return self.rows.get(name, set())

    def gone(self, name: str) -> set[Key]:
        """Rows this plan or an earlier one of the same dry run takes."""
        before = self.earlier.gone(name) if self.earlier else set()
        return self.ids(name) | before

    def add(self, name: str, keys: Iterable[Key]) -> set[Key]:
        """Add keys; return those that were not planned here or earlier."""
        known = self.rows.setdefault(name, set())
        new = set(keys) - known - (self.earlier.gone(name) if self.earlier else set())
        known |= new
        return new

    def absorb(self, other: Plan) -> None:
        """Take another plan's rows and blobs as gone (a dry run's running total)."""
        for name, keys in other.rows.items():
            self.rows.setdefault(name, set()).update(keys)
        self.blobs |= other.blobs

    def counts(self) -> dict[str, int]:
        """Rows per table, and blobs: what an erasure log records."""
        found = {name: len(keys) for name, keys in sorted(self.rows.items()) if keys}
        if self.blobs:
            found["blobs"] = len(self.blobs)
        return found

    @property
    def empty(self) -> bool:
        return not any(self.rows.values()) and not self.blobs


def plan_erasure(
    session: Session,
    seeds: dict[str, Iterable[Key]],
    *,
    earlier: Plan | None = None,
    strays: copies.StrayCopies | None = None,
) -> Plan:
    """Seeds and their closure, orphaned constituents, then the blobs that go with them.

    `earlier` (a dry run) holds what the run's earlier plans take, as if already deleted;
    `strays` is a run's index of unused copies (read here when not given).
    """
    plan = Plan(earlier=earlier)
    _close(session, plan, seeds)
    orphans = _orphaned_constituents(session, plan)
    if orphans:
        _close(session, plan, {"constituents": orphans})
    _drop_detaches_of_doomed(plan)
    plan.blobs = _unneeded_blobs(session, plan)
    index = strays if strays is not None else copies.StrayCopies.read(session)
    plan.blobs |= index.take(_message_ids(session, plan.ids("messages")))
    return plan


def _close(session: Session, plan: Plan, seeds: dict[str, Iterable[Key]]) -> None:
    """Follow every owning link down from the seeds; note the pointers to clear."""
    pending: deque[tuple[str, set[Key]]] = deque()
    for name, keys in seeds.items():
        pending.append((name, plan.add(name, keys)))
    while pending:
        name, keys = pending.popleft()
        if not keys:
            continue
        for link in links_to(name):
            found = _referring(session, link, keys)
            if link.owned:
                pending.append((link.child.name, plan.add(link.child.name, found)))
            else:
                plan.detach.setdefault((link.child.name, link.column.name), set()).update(found)
        for rider, found in _riders(session, name, keys).items():
            pending.append((rider, plan.add(rider, found)))


def _riders(session: Session, name: str, keys: set[Key]) -> dict[str, set[Key]]:
    """Rows tied to a message by something other than a foreign key: its campaign
    signature (by dedupe key) and a quarantine entry holding the same raw bytes."""
    if name != "messages":
        return {}
    signatures, quarantine = table("campaign_signatures"), table("quarantine")
    found: dict[str, set[Key]] = {"campaign_signatures": set(), "quarantine": set()}
    for chunk in chunks(keys):
        rows = session.execute(
            select(Message.dedupe_key, Message.blob_sha256).where(Message.id.in_(chunk))
        ).all()
        found["campaign_signatures"] |= _keys(
            session, signatures, signatures.c.message_key.in_([r[0] for r in rows])
        )
        found["quarantine"] |= _keys(
            session, quarantine, quarantine.c.blob_sha256.in_([r[1] for r in rows])
        )
    return found


def _orphaned_constituents(session: Session, plan: Plan) -> set[int]:
    """Constituents whose cases, letters and mail all go: nothing is left to keep them for."""
    touched: set[int] = set()
    for name in ("cases", "messages", "campaign_signatures", "campaign_members"):
        column = table(name).c.constituent_id
        for chunk in chunks(plan.ids(name)):
            touched |= {
                v for v in session.scalars(select(column).where(pk_in(table(name), chunk))) if v
            }
    touched -= plan.gone("constituents")
    left_with_something: set[int] = set()
    for link in links_to("constituents"):
        if link.owned:
            continue
        for chunk in chunks(touched):
            rows = session.execute(
                select(link.column, *link.child.primary_key.columns).where(link.column.in_(chunk))
            ).all()
            doomed = plan.gone(link.child.name)
            left_with_something |= {r[0] for r in rows if _key_of(r[1:]) not in doomed}
    return touched - left_with_something


def _drop_detaches_of_doomed(plan: Plan) -> None:
    for (name, column), keys in list(plan.detach.items()):
        keys -= plan.gone(name)
        if not keys:
            del plan.detach[(name, column)]


def _unneeded_blobs(session: Session, plan: Plan) -> set[str]:
    """Blobs the doomed rows use that no remaining row uses (a blob is shared by content)."""
    links = links_to("blobs")
    candidates: set[str] = set()
    for link in links:
        for chunk in chunks(plan.ids(link.child.name)):
            candidates |= set(session.scalars(select(link.column).where(pk_in(link.child, chunk))))
    candidates -= plan.earlier.blobs if plan.earlier else set()
    still_used: set[str] = set()
    for link in links:
        doomed = plan.gone(link.child.name)
        for chunk in chunks(candidates):
            rows = session.execute(
                select(link.column, *link.child.primary_key.columns).where(link.column.in_(chunk))
            ).all()
            still_used |= {r[0] for r in rows if _key_of(r[1:]) not in doomed}
    return candidates - still_used


def _message_ids(session: Session, keys: set[Key]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(keys):
        found |= {
            m for m in session.scalars(select(Message.message_id).where(Message.id.in_(chunk))) if m
        }
    return found


def _referring(session: Session, link: Link, keys: set[Key]) -> set[Key]:
    found: set[Key] = set()
    for chunk in chunks(keys):
        found |= _keys(session, link.child, link.column.in_(chunk))
    return found


def _keys(session: Session, of: Table, where: ColumnElement[bool]) -> set[Key]:
    columns = list(of.primary_key.columns)
    return {_key_of(row) for row in session.execute(select(*columns).where(where))}


def _key_of(row: Sequence[Any]) -> Key:
    return row[0] if len(row) == 1 else tuple(row)


def pk_in(of: Table, keys: Sequence[Key]) -> ColumnElement[bool]:
    """The WHERE clause that picks these rows by primary key."""
    columns = list(of.primary_key.columns)
    if len(columns) == 1:
        return columns[0].in_(list(keys))
    return tuple_(*columns).in_(list(keys))


def chunks(keys: Iterable[Key], size: int = CHUNK) -> Iterator[list[Key]]:
    """IN lists of a size both databases take."""
    batch: list[Key] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
