"""Batches bounded by bytes as well as by count.

A hundred messages are a few hundred kilobytes of letters, or half a gigabyte of phone
photographs of damp; a batch is held several times over while it is parsed, stored and
committed (and the next one is parsed meanwhile), so its size is capped, not just its count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

BATCH_BYTES = 16 * 1024 * 1024

T = TypeVar("T")


def bounded(
    items: Iterable[T], size_of: Callable[[T], int], *, count: int, total: int = BATCH_BYTES
) -> Iterator[list[T]]:
    """Consecutive groups of at most `count` items and `total` bytes, lazily; an item larger
    than `total` on its own makes a group of one."""
    batch: list[T] = []
    held = 0
    for item in items:
        size = size_of(item)
        if batch and (len(batch) >= count or held + size > total):
            yield batch
            batch, held = [], 0
        batch.append(item)
        held += size
    if batch:
        yield batch
