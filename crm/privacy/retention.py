"""The retention policy: what is erased once the office no longer needs it, and when.

Each rule names rows past their time; the erasure machine takes everything under them.
Rows are re-checked inside each chunk's own transaction, so a case reopened meanwhile is
kept, and a chunk's transaction stays short enough for the ingester writing beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from crm.cases import CLOSED
from crm.db import Database
from crm.models import Case, Message, QuarantineEntry
from crm.privacy.copies import StrayCopies
from crm.privacy.erasure import Erasure, erase, summarise
from crm.privacy.models import POLICY
from crm.privacy.plan import Key, Plan, plan_erasure
from crm.settings import Settings
from crm.types import utcnow

CHUNK = 200  # seed rows per transaction
WHO = "retention policy"


@dataclass(frozen=True)
class Rule:
    """One line of the policy: rows of `table` whose time is before `cutoff` go."""

    name: str
    title: str
    days: int  # 0 keeps for ever
    table: str
    due: Callable[[datetime], ColumnElement[bool]]
    key: Callable[[], Select[int]]


def _closed_case(cutoff: datetime) -> ColumnElement[bool]:
    closed = func.coalesce(Case.closed_at, Case.last_activity_at)
    return and_(Case.status == CLOSED, closed < cutoff, Case.last_activity_at < cutoff)


def _campaign_letter(cutoff: datetime) -> ColumnElement[bool]:
    """Constituent mail with no case of its own: only campaign letters are kept like that."""
    return and_(
        Message.case_id.is_(None), Message.kind == "constituent", Message.received_at < cutoff
    )


def _not_casework(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        Message.case_id.is_(None), Message.kind != "constituent", Message.received_at < cutoff
    )


def _quarantined(cutoff: datetime) -> ColumnElement[bool]:
    return func.coalesce(QuarantineEntry.resolved_at, QuarantineEntry.created_at) < cutoff


def rules(settings: Settings) -> tuple[Rule, ...]:
    """The policy as configured (MAILBAG_RETAIN_*_DAYS)."""
    return (
        Rule(
            "closed_cases",
            "closed cases",
            settings.retain_closed_cases_days,
            "cases",
            _closed_case,
            lambda: select(Case.id).order_by(Case.id),
        ),
        Rule(
            "campaign_mail",
            "campaign letters with no case",
            settings.retain_campaign_mail_days,
            "messages",
            _campaign_letter,
            lambda: select(Message.id).order_by(Message.id),
        ),
        Rule(
            "not_casework",
            "auto-replies, bounces and third-party mail with no case",
            settings.retain_not_casework_days,
            "messages",
            _not_casework,
            lambda: select(Message.id).order_by(Message.id),
        ),
        Rule(
            "quarantine",
            "quarantined mail",
            settings.retain_quarantine_days,
            "quarantine",
            _quarantined,
            lambda: select(QuarantineEntry.id).order_by(QuarantineEntry.id),
        ),
    )


@dataclass
class RuleOutcome:
    rule: Rule
    cutoff: datetime | None
    erasures: list[Erasure] = field(default_factory=list)

    @property
    def references(self) -> list[str]:
        return sorted(r for e in self.erasures for r in e.references)

    @property
    def counts(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for erasure in self.erasures:
            for name, n in erasure.counts.items():
                total[name] = total.get(name, 0) + n
        return dict(sorted(total.items()))


@dataclass
class RetentionRun:
    """What a run erased, or in a dry run would erase, rule by rule."""

    dry_run: bool
    now: datetime
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def erased_anything(self) -> bool:
        return any(o.counts for o in self.outcomes)


def run(
    database: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    who: str = WHO,
) -> RetentionRun:
    """Apply every rule; a dry run plans exactly the same and changes nothing."""
    when = now or utcnow()
    with database.session() as session:
        runner = _Runner(database, who, StrayCopies.read(session), Plan() if dry_run else None)
    outcome = RetentionRun(dry_run=dry_run, now=when)
    for rule in rules(settings):
        if rule.days <= 0:
            outcome.outcomes.append(RuleOutcome(rule, None))
            continue
        outcome.outcomes.append(runner.apply(rule, when - timedelta(days=rule.days)))
    return outcome


@dataclass
class _Runner:
    """One run: its index of stray copies and, in a dry run, what earlier chunks take."""

    database: Database
    who: str
    strays: StrayCopies
    taken: Plan | None  # a dry run deletes nothing, so what it would take is carried here

    def apply(self, rule: Rule, cutoff: datetime) -> RuleOutcome:
        result = RuleOutcome(rule, cutoff)
        with self.database.session() as session:
            due = list(session.scalars(rule.key().where(rule.due(cutoff))))
        for start in range(0, len(due), CHUNK):
            with self.database.session() as session:
                erasure = self._chunk(session, rule, cutoff, due[start : start + CHUNK])
            if not erasure.empty:
                result.erasures.append(erasure)
        return result

    def _chunk(self, session: Session, rule: Rule, cutoff: datetime, ids: list[int]) -> Erasure:
        """One transaction: the rows still due (re-checked now), planned and erased together."""
        key = rule.key().selected_columns[0]
        still_due = session.scalars(rule.key().where(rule.due(cutoff), key.in_(ids)))
        seeds: dict[str, Iterable[Key]] = {rule.table: set(still_due)}
        plan = plan_erasure(session, seeds, earlier=self.taken, strays=self.strays)
        if self.taken is None:
            return erase(session, plan, reason=POLICY, rule=rule.name, who=self.who)
        self.taken.absorb(plan)
        return summarise(session, plan, rule.name)
