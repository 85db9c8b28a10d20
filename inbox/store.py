"""Step: keep the raw bytes first, content-addressed, before anything can go wrong."""

from __future__ import annotations

from crm.blobs import sha256_of, store_blob
from inbox.context import StepEnv
from inbox.message import MessageContext
from inbox.prefetch import STORED_BLOBS


def store_raw(ctx: MessageContext, env: StepEnv) -> None:
    stored: dict[int, str] = env.memo.values.get(STORED_BLOBS, {})
    if id(ctx.raw) in stored:  # the batch stored it already, and knows its hash
        ctx.sha256 = stored[id(ctx.raw)]
        return
    ctx.sha256 = ctx.sha256 or sha256_of(ctx.raw)
    store_blob(env.session, ctx.raw, ctx.sha256)
