"""`mailbag import PATH`: the same pipeline as IMAP, fed from files."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from pathlib import Path

from crm.db import Database
from inbox.batches import Counts, run_batch
from inbox.files import iter_messages
from inbox.parse_pool import ParsePool, ahead
from inbox.pipeline import Pipeline


def import_path(
    database: Database,
    pipeline: Pipeline,
    path: Path,
    *,
    batch_size: int = 200,
    progress: Callable[[int], None] | None = None,
) -> Counts:
    """Import in committed batches; importing the same files again changes nothing."""
    counts = Counts()
    messages = iter_messages(path)
    batches = iter(lambda: list(islice(messages, batch_size)), [])
    with ParsePool(pipeline.settings.max_attachment_bytes) as pool:
        for batch, parsed in ahead(pool, batches):
            counts += run_batch(database, pipeline, batch, parsed=parsed)
            if progress is not None:
                progress(len(batch))
    return counts
