"""`mailbag import PATH`: the same pipeline as IMAP, fed from files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from crm.db import Database
from inbox.batches import Counts, run_batch
from inbox.files import Survey, iter_messages, survey
from inbox.message import Source
from inbox.parse_pool import ParsePool, ahead
from inbox.pipeline import Pipeline
from inbox.sizing import BATCH_BYTES, bounded


def import_path(
    database: Database,
    pipeline: Pipeline,
    source: Path | Survey,
    *,
    batch_size: int = 200,
    batch_bytes: int = BATCH_BYTES,
    progress: Callable[[int], None] | None = None,
) -> Counts:
    """Import in committed batches; importing the same files again changes nothing. A path
    is surveyed here; a caller that surveyed it already (to count, to name what is left
    out) passes its survey, and the tree is not walked twice."""
    counts = Counts()
    messages = iter_messages(source if isinstance(source, Survey) else survey(source))
    batches = bounded(messages, _size, count=batch_size, total=batch_bytes)
    with ParsePool(pipeline.settings.max_attachment_bytes) as pool:
        for batch, parsed in ahead(pool, batches):
            counts += run_batch(database, pipeline, batch, parsed=parsed)
            if progress is not None:
                progress(len(batch))
    return counts


def _size(message: tuple[bytes, Source]) -> int:
    return len(message[0])
