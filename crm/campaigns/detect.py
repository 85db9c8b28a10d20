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
from functools import lru_cache

import numpy as np
from datasketch import MinHash
from sqlalchemy import BigInteger, cast, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from crm.campaigns.models import CampaignBand, CampaignSignature
from crm.campaigns.normalise import letter_body, shingles, words

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
    shared = func.count().label("shared")
    ranked = (
        select(CampaignBand.signature_id, shared)
        .where(CampaignBand.band_key.in_(fp.band_keys()))
        .group_by(CampaignBand.signature_id)
        .order_by(shared.desc(), CampaignBand.signature_id.desc())
        .limit(CANDIDATES)
        .subquery()
    )
    rows = session.execute(
        select(
            CampaignSignature.id,
            CampaignSignature.message_key,
            CampaignSignature.constituent_id,
            CampaignSignature.campaign_id,
            CampaignSignature.minhash,
        ).join(ranked, ranked.c.signature_id == CampaignSignature.id)
    ).all()
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
    signature = insert(CampaignSignature).values(
        message_key=message_key,
        constituent_id=constituent_id,
        campaign_id=campaign_id,
        minhash=fp.to_bytes(),
        words=fp.words,
        written_at=written_at,
    )
    keys = sorted(set(fp.band_keys()))
    if banded and session.get_bind().dialect.name == "postgresql":
        # one round trip: the bands are inserted from the signature insert's RETURNING
        added = signature.returning(CampaignSignature.id).cte("added")
        both = (
            insert(CampaignBand)
            .from_select(
                ["band_key", "signature_id"],
                select(func.unnest(cast(keys, ARRAY(BigInteger))), added.c.id),
            )
            .returning(CampaignBand.signature_id)
        )
        return int(session.execute(both).scalars().first())  # type: ignore[arg-type]
    signature_id = int(session.execute(signature.returning(CampaignSignature.id)).scalar_one())
    if banded:
        session.execute(
            insert(CampaignBand), [{"band_key": key, "signature_id": signature_id} for key in keys]
        )
    return signature_id
