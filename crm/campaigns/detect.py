"""Near-duplicate letters: MinHash signatures, and LSH band keys kept in the database.

Each long enough constituent letter gets a MinHash (datasketch) over its word shingles. The
signature is cut into BANDS bands of ROWS values; letters sharing a band are candidates,
found with one indexed `band_key IN (...)` query whatever the size of the mailbox, and then
compared on the whole signature against the configured Jaccard threshold.

The banding is fixed (it is what is stored), not derived from the threshold: 24 bands of 5
make a letter pair at Jaccard 0.6 a candidate 86% of the time per pair, at 0.7 99%, and a
new copy of a campaign meets many earlier copies, so a campaign is not missed; the
threshold setting then decides. Changing these constants needs the table rebuilt, so the
key is salted with them and old rows simply stop matching.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache

import numpy as np
from datasketch import MinHash
from sqlalchemy import BigInteger, Select, Table, bindparam, cast, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from crm.campaigns.models import CampaignBand, CampaignSignature
from crm.campaigns.normalise import letter_body, most_words, shingles, words
from crm.db import insert_rows

NUM_PERM = 128
BANDS, ROWS = 24, 5
SCHEME = "affine32"
SEED = 1
MIN_WORDS = 100  # short notes ("any news on my case?") look alike without being a campaign
CANDIDATES = 50  # the letters sharing most bands are the ones worth comparing
_SALT = f"mailbag-campaign/{SCHEME}/{NUM_PERM}/{SEED}/{BANDS}x{ROWS}/".encode()


@dataclass(frozen=True)
class Fingerprint:
    """A letter's MinHash values (uint32) and how many words it was made from."""

    values: np.ndarray
    words: int

    def to_bytes(self) -> bytes:
        return self.values.astype("<u4").tobytes()

    def band_keys(self) -> list[int]:
        """One signed 64-bit key per band: the band's number and values, hashed together."""
        keys = []
        for band in range(BANDS):
            chunk = self.values[band * ROWS : (band + 1) * ROWS].astype("<u4").tobytes()
            digest = hashlib.blake2b(_SALT + bytes([band]) + chunk, digest_size=8).digest()
            keys.append(int.from_bytes(digest, "big", signed=True))
        return keys


@dataclass(frozen=True)
class Match:
    """An earlier letter at least as similar as the threshold asks."""

    signature_id: int
    message_key: str
    constituent_id: int
    campaign_id: int | None
    similarity: float


@lru_cache(maxsize=1)
def _permutations() -> np.ndarray:
    """Generated once: building them is most of the cost of a new MinHash."""
    return np.asarray(MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations)


def fingerprint(text: str, drop_words: Iterable[str] = ()) -> Fingerprint | None:
    """The letter's MinHash, or None when it is too short to be a campaign letter."""
    if most_words(text) < MIN_WORDS:  # most mail is short: no need to read it closely
        return None
    tokens = words(letter_body(text), drop_words)
    if len(tokens) < MIN_WORDS:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_permutations())
    minhash.update_batch(shingles(tokens))
    return Fingerprint(np.asarray(minhash.hashvalues, dtype=np.uint32), len(tokens))


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4")


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity: the share of MinHash values two letters agree on."""
    return float(np.count_nonzero(a == b)) / len(a)


def similar(session: Session, fp: Fingerprint, threshold: float) -> list[Match]:
    """Stored letters whose estimated similarity to this one reaches the threshold.

    One round trip: the letters sharing most band keys (an index search per key), joined
    to their signatures, then compared here on the whole signature.
    """
    keys = {f"key{band}": key for band, key in enumerate(fp.band_keys())}
    rows = session.connection().execute(_similar_statement(), keys).all()
    found = []
    for signature_id, key, constituent_id, campaign_id, data in rows:
        score = similarity(fp.values, from_bytes(data))
        if score >= threshold:
            found.append(Match(signature_id, key, constituent_id, campaign_id, score))
    return sorted(found, key=lambda m: -m.similarity)


def store(
    session: Session,
    fp: Fingerprint,
    *,
    message_key: str,
    constituent_id: int,
    written_at: datetime,
    campaign_id: int | None,
    banded: bool,
) -> int:
    """Keep the signature, and its band keys when later letters should be able to find it."""
    connection = session.connection()
    values = {
        "message_key": message_key,
        "constituent_id": constituent_id,
        "campaign_id": campaign_id,
        "minhash": fp.to_bytes(),
        "words": fp.words,
        "written_at": written_at,
    }
    keys = sorted(set(fp.band_keys()))
    if banded and connection.dialect.name == "postgresql":
        # one round trip: the bands are inserted from the signature insert's RETURNING
        stored = connection.execute(_store_banded_statement(), values | {"keys": keys})
        return int(stored.scalars().first())  # type: ignore[arg-type]
    signature_id = int(connection.execute(_store_statement(), values).scalar_one())
    if banded:
        insert_rows(
            session, CampaignBand, [{"band_key": key, "signature_id": signature_id} for key in keys]
        )
    return signature_id


# The statements below are built once, on the tables, and run on the connection: every long
# letter runs two of them, and building them anew (and the ORM's execution) cost more than
# the queries.


@cache
def _similar_statement() -> Select[int, str, int, int | None, bytes]:
    """The signatures sharing most of the band keys bound as `key0`, `key1`...: one bound
    value each, not an expanding list, so the statement is compiled once, not per letter."""
    bands, signatures = _bands(), _signatures()
    shared = func.count().label("shared")
    ranked = (
        select(bands.c.signature_id, shared)
        .where(bands.c.band_key.in_([bindparam(f"key{band}") for band in range(BANDS)]))
        .group_by(bands.c.signature_id)
        .order_by(shared.desc(), bands.c.signature_id.desc())
        .limit(CANDIDATES)
        .subquery()
    )
    return select(
        signatures.c.id,
        signatures.c.message_key,
        signatures.c.constituent_id,
        signatures.c.campaign_id,
        signatures.c.minhash,
    ).join(ranked, ranked.c.signature_id == signatures.c.id)


_SIGNATURE_FIELDS = (
    "message_key",
    "constituent_id",
    "campaign_id",
    "minhash",
    "words",
    "written_at",
)


@cache
def _store_statement() -> ReturningInsert[int]:
    return insert(_signatures()).returning(_signatures().c.id)


@cache
def _store_banded_statement() -> ReturningInsert[int]:
    """PostgreSQL: the signature and its bands (the keys bound as an array) in one statement."""
    signatures = _signatures()
    added = (
        insert(signatures)
        .values({name: bindparam(name) for name in _SIGNATURE_FIELDS})
        .returning(signatures.c.id)
        .cte("added")
    )
    keys = cast(bindparam("keys", type_=ARRAY(BigInteger)), ARRAY(BigInteger))
    return (
        insert(_bands())
        .from_select(["band_key", "signature_id"], select(func.unnest(keys), added.c.id))
        .returning(_bands().c.signature_id)
    )


def _signatures() -> Table:
    return CampaignSignature.__table__  # type: ignore[return-value]


def _bands() -> Table:
    return CampaignBand.__table__  # type: ignore[return-value]
