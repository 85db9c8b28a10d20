"""The stored taxonomy to and from the office's workbook; an import is all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.tags import history, names
from crm.tags.errors import TagError
from crm.tags.models import TagName, TagRule, TagValue
from crm.tags.rulebook import stored_rules
from crm.tags.seed import ensure_seeded, rule_row
from crm.tags.taxonomy import ordered, set_path
from tagging.axes import AXES
from tagging.taxonomy import ACTIVE, RETIRED, TagSpec, TaxonomySpec, path_key
from tagging.workbook import read_workbook, write_workbook
from tagging.workbook_layout import SHEETS


@dataclass
class ImportSummary:
    """What an import changed, for the one line the office reads."""

    created: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    aliases_added: int = 0
    aliases_removed: int = 0
    reordered: bool = False
    rules_replaced: bool = False

    @property
    def changed(self) -> bool:
        return any(
            (self.created, self.renamed, self.retired, self.restored, self.aliases_added)
        ) or any((self.aliases_removed, self.reordered, self.rules_replaced))

    def describe(self) -> str:
        if not self.changed:
            return "the workbook matches the taxonomy: nothing changed"
        parts = [
            f"{len(self.created)} created",
            f"{len(self.renamed)} renamed",
            f"{len(self.retired)} retired",
            f"{len(self.restored)} restored",
            f"{self.aliases_added} aliases added",
            f"{self.aliases_removed} aliases removed",
            "order changed" if self.reordered else "order kept",
            "rules replaced" if self.rules_replaced else "rules unchanged",
        ]
        return "imported: " + ", ".join(parts)


def snapshot(session: Session) -> TaxonomySpec:
    """The taxonomy and rules as they are stored, in the shape the workbook holds."""
    ensure_seeded(session)
    tags = tuple(
        TagSpec(
            axis=tag.axis,
            name=tag.name,
            parent=tag.parent.path if tag.parent else None,
            status=tag.status,
            aliases=tuple(names.aliases(session, tag)),
            id=tag.id,
        )
        for tag in ordered(session)
    )
    return TaxonomySpec(tags, tuple(stored_rules(session)))


def export_workbook(session: Session, path: Path) -> TaxonomySpec:
    spec = snapshot(session)
    write_workbook(spec, path)
    return spec


def import_workbook(session: Session, path: Path, *, who: str) -> ImportSummary:
    """Read, check every row, then apply; any problem raises before anything is written."""
    ensure_seeded(session)
    known: dict[int, list[str]] = {}
    for tag_id, text in session.execute(select(TagName.tag_id, TagName.text)):
        known.setdefault(tag_id, []).append(text)
    spec = read_workbook(path, known)
    return apply_spec(session, spec, who=who)


def apply_spec(session: Session, spec: TaxonomySpec, *, who: str) -> ImportSummary:
    """Make the stored taxonomy what `spec` says; values it leaves out are retired."""
    ensure_seeded(session)
    matched = _match(session, spec)
    summary = ImportSummary()
    before = [t.id for t in ordered(session)]
    _drop_unlisted_aliases(session, spec, matched, summary)
    stored: dict[tuple[str, str], TagValue] = {}
    for level_has_parent in (False, True):
        for position, item in _positioned(spec):
            if (item.parent is not None) == level_has_parent:
                tag = _apply_tag(session, item, matched.get(id(item)), stored, summary, who)
                tag.position = position
                stored[(item.axis.value, path_key(item.path))] = tag
    for item in spec.tags:
        owner = stored[(item.axis.value, path_key(item.path))]
        known = {path_key(a) for a in names.aliases(session, owner)}
        for alias in item.aliases:
            if path_key(alias) not in known:
                names.claim(session, owner, alias, alias=True)
                summary.aliases_added += 1
    _retire_unlisted(session, {t.id for t in stored.values()}, summary, who)
    session.flush()
    common = set(before) & {t.id for t in stored.values()}
    after = [t.id for t in ordered(session) if t.id in common]
    summary.reordered = after != [i for i in before if i in common]
    summary.rules_replaced = _replace_rules(session, spec)
    if summary.changed:
        history.record(session, "imported", who=who, detail=summary.describe())
    return summary


def _positioned(spec: TaxonomySpec) -> list[tuple[int, TagSpec]]:
    return [(position, item) for axis in AXES for position, item in enumerate(spec.on(axis))]


def _match(session: Session, spec: TaxonomySpec) -> dict[int, TagValue]:
    """Each row's stored value: by ID, else by its current path, else by an alias."""
    matched: dict[int, TagValue] = {}
    problems: list[str] = []
    for item in spec.tags:
        if item.id is None:
            continue
        tag = session.get(TagValue, item.id)
        if tag is None or tag.axis is not item.axis or tag.merged_into_id is not None:
            problems.append(
                f"sheet {SHEETS[item.axis]}: ID {item.id} ({item.path}) is not a value of this "
                "database; leave ID empty for a new value"
            )
        else:
            matched[id(item)] = tag
    if problems:
        raise TagError("; ".join(problems))
    taken = {tag.id for tag in matched.values()}
    for item in spec.tags:
        if item.id is None:
            tag = names.resolve(session, item.axis, item.path)
            if tag is not None and tag.id not in taken and tag.merged_into_id is None:
                matched[id(item)] = tag
                taken.add(tag.id)
    return matched


def _drop_unlisted_aliases(
    session: Session, spec: TaxonomySpec, matched: dict[int, TagValue], summary: ImportSummary
) -> None:
    """An alias the office deleted from the sheet is deleted here, before names are claimed."""
    for item in spec.tags:
        tag = matched.get(id(item))
        if tag is None:
            continue
        keep = {path_key(a) for a in item.aliases}
        for alias in names.aliases(session, tag):
            if path_key(alias) not in keep:
                names.drop_alias(session, tag, alias)
                summary.aliases_removed += 1
    session.flush()


def _apply_tag(
    session: Session,
    item: TagSpec,
    tag: TagValue | None,
    stored: dict[tuple[str, str], TagValue],
    summary: ImportSummary,
    who: str,
) -> TagValue:
    parent = stored[(item.axis.value, path_key(item.parent))] if item.parent else None
    if tag is None:
        tag = names.create(session, item.axis, item.path, status=item.status)
        summary.created.append(tag.path)
        history.record(session, "created", who=who, tag=tag, detail=f"{tag.path} (import)")
        return tag
    if tag.path != item.path:
        before = tag.path
        set_path(session, tag, parent, item.name)
        summary.renamed.append(f"{before} → {tag.path}")
        detail = f"{before} → {tag.path} (import)"
        history.record(session, "renamed", who=who, tag=tag, detail=detail)
    if tag.status != item.status:
        retiring = item.status == RETIRED
        (summary.retired if retiring else summary.restored).append(tag.path)
        tag.status = item.status
        action = "retired" if retiring else "restored"
        history.record(session, action, who=who, tag=tag, detail=f"{tag.path} (import)")
    return tag


def _retire_unlisted(session: Session, listed: set[int], summary: ImportSummary, who: str) -> None:
    for tag in ordered(session):
        if tag.id not in listed and tag.status == ACTIVE:
            tag.status = RETIRED
            summary.retired.append(tag.path)
            history.record(session, "retired", who=who, tag=tag, detail=f"{tag.path} (import)")


def _replace_rules(session: Session, spec: TaxonomySpec) -> bool:
    """Rules are replaced as a list when they differ; they carry no history of their own."""
    session.flush()
    if stored_rules(session) == list(spec.rules):
        return False
    session.execute(delete(TagRule))
    for position, rule in enumerate(spec.rules):
        tag = names.require(session, rule.axis, rule.value)
        session.add(rule_row(rule, tag.id, position))
    session.flush()
    return True
