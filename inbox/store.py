"""Step: keep the raw bytes first, content-addressed, before anything can go wrong."""

from __future__ import annotations

from crm.blobs import sha256_of, store_blob
from inbox.context import StepEnv
from inbox.message import MessageContext


def store_raw(ctx: MessageContext, env: StepEnv) -> None:
    ctx.sha256 = ctx.sha256 or sha256_of(ctx.raw)
    store_blob(env.session, ctx.raw, ctx.sha256)
