"""The governance report: what an office can retire or merge to keep its list short."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.tags.models import CaseTag, TagRule, TagValue
from crm.tags.seed import ensure_seeded
from crm.tags.taxonomy import ordered
from tagging.axes import Axis
from tagging.taxonomy import ACTIVE

DEFAULT_FEWER_THAN = 3
DEFAULT_SIMILARITY = 0.85


@dataclass(frozen=True)
class Usage:
    axis: Axis
    path: str
    cases: int  # cases carrying it, or one of its sub-issues


@dataclass(frozen=True)
class NearDuplicate:
    axis: Axis
    first: str
    second: str
    similarity: float


@dataclass(frozen=True)
class Report:
    unused: list[Usage]
    rarely_used: list[Usage]
    near_duplicates: list[NearDuplicate]
    idle_rules: list[str]  # rules that set a retired value, so propose nothing
    fewer_than: int

    def lines(self) -> list[str]:
        out = [f"unused ({len(self.unused)}):"]
        out += [f"  {u.axis.value:<16} {u.path}" for u in self.unused]
        out.append(f"used by fewer than {self.fewer_than} cases ({len(self.rarely_used)}):")
        out += [f"  {u.axis.value:<16} {u.path}  ({u.cases})" for u in self.rarely_used]
        out.append(f"near-duplicate names ({len(self.near_duplicates)}):")
        out += [
            f"  {d.axis.value:<16} {d.first}  ~  {d.second}  ({d.similarity:.0%})"
            for d in self.near_duplicates
        ]
        out.append(f"rules that set a retired value ({len(self.idle_rules)}):")
        out += [f"  {name}" for name in self.idle_rules]
        return out


def report(
    session: Session,
    *,
    fewer_than: int = DEFAULT_FEWER_THAN,
    similarity: float = DEFAULT_SIMILARITY,
) -> Report:
    """Active values nobody uses, values few cases use, and names close enough to merge."""
    ensure_seeded(session)
    tags = [t for t in ordered(session) if t.status == ACTIVE]
    usage = _usage(session, tags)
    unused = [u for u in usage if u.cases == 0]
    rarely = [u for u in usage if 0 < u.cases < fewer_than]
    idle = session.scalars(
        select(TagRule.name)
        .join(TagValue, TagRule.tag_id == TagValue.id)
        .where(TagValue.status != ACTIVE)
        .order_by(TagRule.position)
    ).all()
    return Report(unused, rarely, near_duplicates(tags, similarity), list(idle), fewer_than)


def near_duplicates(tags: list[TagValue], threshold: float) -> list[NearDuplicate]:
    """Pairs on one axis whose own names are alike ("Repairs" ~ "Repair"), most alike first.

    Names, not paths: siblings share their parent's words, which would make every pair alike.
    Only names of compatible lengths are compared, so thousands of tags stay quick."""
    found: list[NearDuplicate] = []
    by_axis: dict[Axis, list[TagValue]] = {}
    for tag in tags:
        by_axis.setdefault(tag.axis, []).append(tag)
    for axis, values in by_axis.items():
        keyed = sorted(((t.name.casefold(), t) for t in values), key=lambda p: len(p[0]))
        for i, (name, tag) in enumerate(keyed):
            matcher = difflib.SequenceMatcher(None, b=name, autojunk=False)
            for other_name, other in keyed[i + 1 :]:
                if 2 * len(name) / (len(name) + len(other_name)) < threshold:
                    break  # longer names only get less alike from here
                matcher.set_seq1(other_name)
                if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                    continue
                ratio = matcher.ratio()
                if ratio >= threshold:
                    first, second = sorted((tag.path, other.path))
                    found.append(NearDuplicate(axis, first, second, ratio))
    return sorted(found, key=lambda d: (-d.similarity, d.axis.value, d.first))


def _usage(session: Session, tags: list[TagValue]) -> list[Usage]:
    """Cases per value; a top-level issue counts the cases of its sub-issues too."""
    cases: dict[int, set[int]] = {}
    rows = session.execute(
        select(CaseTag.tag_id, CaseTag.case_id, TagValue.parent_id).join(
            TagValue, CaseTag.tag_id == TagValue.id
        )
    )
    for tag_id, case_id, parent_id in rows:
        cases.setdefault(tag_id, set()).add(case_id)
        if parent_id is not None:
            cases.setdefault(parent_id, set()).add(case_id)
    return [Usage(tag.axis, tag.path, len(cases.get(tag.id, ()))) for tag in tags]
