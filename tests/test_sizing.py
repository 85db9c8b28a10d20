"""inbox.sizing: batches capped by count and by bytes, for IMAP and for imports alike."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from crm.db import Database
from inbox.importer import import_path
from inbox.message import ParsedMessage
from inbox.parse_pool import MIN_BATCH_FOR_POOL, MIN_BYTES_FOR_POOL, ParsePool
from inbox.pipeline import Pipeline
from inbox.sizing import bounded


@given(
    sizes=st.lists(st.integers(0, 1_000), max_size=60),
    count=st.integers(1, 10),
    total=st.integers(1, 3_000),
)
def test_groups_keep_order_and_respect_both_caps(sizes: list[int], count: int, total: int) -> None:
    groups = list(bounded(enumerate(sizes), lambda item: item[1], count=count, total=total))
    assert [item for group in groups for item in group] == list(enumerate(sizes))
    for group in groups:
        assert 1 <= len(group) <= count
        held = sum(size for _, size in group)
        assert held <= total or len(group) == 1  # only a lone item may pass the cap


def test_a_group_closes_only_when_the_next_item_would_pass_a_cap() -> None:
    groups = list(bounded([4, 4, 4, 9, 1, 1], lambda size: size, count=5, total=10))
    assert groups == [[4, 4], [4], [9, 1], [1]]


def test_an_import_of_large_messages_commits_them_in_small_batches(
    database: Database, pipeline: Pipeline, tmp_path: Path
) -> None:
    """Each batch is one transaction: with a 40 kB cap, five 30 kB letters make five."""
    for n in range(5):
        (tmp_path / f"{n}.eml").write_bytes(
            f"From: Resident {n} <r{n}@example.org>\nTo: office@example.org\n"
            f"Subject: Photos {n}\nMessage-ID: <photos-{n}@example.org>\n\n".encode()
            + b"damp " * 6_000
        )
    batches: list[int] = []
    counts = import_path(database, pipeline, tmp_path, progress=batches.append, batch_bytes=40_000)
    assert counts.stored == 5
    assert batches == [1, 1, 1, 1, 1]


def test_a_few_large_messages_are_parsed_by_the_worker_a_few_small_ones_here() -> None:
    small = [b"Subject: hi\n\nhello\n"] * (MIN_BATCH_FOR_POOL - 1)
    large = [b"Subject: photos\n\n" + b"x" * MIN_BYTES_FOR_POOL] * 2
    with ParsePool(1_000_000, workers=1) as pool:
        deadline = time.monotonic() + 60  # the worker takes a moment to start
        while (future := pool.submit(large)) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.submit(small) is None
        assert future is not None
        parsed = future.result()
        assert [p.subject for p in parsed if isinstance(p, ParsedMessage)] == ["photos", "photos"]
