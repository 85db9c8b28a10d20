"""Carry out a plan in the caller's transaction: clear pointers, delete children before
parents, drop the blobs. Everything goes together or nothing does."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from crm.models import Blob
from crm.privacy.graph import PERMANENT, deletion_order, links_to, table
from crm.privacy.plan import Plan, chunks, pk_in


def carry_out(session: Session, plan: Plan) -> None:
    """Delete what the plan names; rows loaded in this session are expired afterwards."""
    session.flush()
    for (name, column), keys in plan.detach.items():
        child = table(name)
        for chunk in chunks(keys):
            session.execute(update(child).where(pk_in(child, chunk)).values({column: None}))
    for doomed in deletion_order():
        keys = plan.ids(doomed.name)
        if not keys:
            continue
        if doomed.name in PERMANENT:
            raise AssertionError(f"{doomed.name} is never erased")
        _unlink_within(session, doomed.name, keys)
        for chunk in chunks(keys):
            session.execute(delete(doomed).where(pk_in(doomed, chunk)))
    for chunk in chunks(plan.blobs):
        session.execute(delete(Blob).where(Blob.sha256.in_(chunk)))
    session.expire_all()


def _unlink_within(session: Session, name: str, keys: set[object]) -> None:
    """A table that points at itself (a merged constituent at the one it joined): clear those
    pointers first, so the order rows are deleted in never matters."""
    doomed = table(name)
    for link in links_to(name):
        if link.child.name != name:
            continue
        for chunk in chunks(keys):
            session.execute(
                update(doomed)
                .where(pk_in(doomed, chunk), link.column.is_not(None))
                .values({link.column.name: None})
            )
