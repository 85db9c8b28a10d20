"""The rule engine on realistic messages: what it proposes, which rule wins, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbox.parse import parse
from tagging import assign
from tagging.axes import Axis
from tagging.default_rules import DEFAULT_RULES, out_of_area_rule
from tagging.default_taxonomy import default_taxonomy
from tagging.engine import Proposal, RuleSet, propose
from tagging.errors import TaggingError
from tagging.features import MessageFeatures
from tagging.rules import Rule, SearchIn
from tagging.taxonomy import path_key

CORPUS = Path(__file__).parent / "data" / "corpus"
DEMO = Path(__file__).parent.parent / "mailbag" / "demo_mail"
DEFAULTS = RuleSet(DEFAULT_RULES)


def tags_of(
    text: str, subject: str = "Help please", kind: str = "constituent", **extra: object
) -> dict[tuple[Axis, bool], Proposal]:
    features = MessageFeatures(subject=subject, text=text, kind=kind, **extra)  # type: ignore[arg-type]
    return {(p.axis, p.primary): p for p in propose(features, DEFAULTS)}


def value(found: dict[tuple[Axis, bool], Proposal], axis: Axis) -> str | None:
    proposal = found.get((axis, True))
    return proposal.value if proposal else None


def from_eml(path: Path, postcode: str | None = None) -> MessageFeatures:
    parsed = parse(path.read_bytes())
    return MessageFeatures(
        subject=parsed.subject,
        text=parsed.text,
        sender=parsed.sender.email if parsed.sender else "",
        attachment_types=tuple(a.content_type for a in parsed.attachments),
        kind="constituent",
        postcode=postcode,
    )


SAFEGUARDING = [
    "Honestly some days I don't see the point in carrying on.",
    "I have been having suicidal thoughts since the benefits stopped.",
    "My daughter has started to self harm and CAMHS will not see her.",
    "My son is Self-Harming again and the school says it is not their problem.",
    "My ex-partner has threatened to kill me if I go to the police.",
    "The landlord has been making threats and says he will change the locks.",
    "We are being evicted tomorrow and have nowhere to go.",
    "We have no food in the house until payday.",
    "There has been nothing to eat since Tuesday apart from bread.",
    "I am fleeing domestic abuse with my two children.",
    "My partner is abusive and I need help. It is domestic violence.",
]


@pytest.mark.parametrize("text", SAFEGUARDING)
def test_safeguarding_words_raise_urgency_and_sensitivity(text):
    found = tags_of(f"Dear Jane,\n\n{text}\n\nYours,\nA Constituent\n")
    assert value(found, Axis.URGENCY) == "immediate"
    assert value(found, Axis.SENSITIVITY) == "safeguarding"
    winner = found[(Axis.URGENCY, True)]
    assert winner.rule in {"safeguarding: urgency", "imminent eviction: urgency"}
    assert winner.reason.startswith(f'rule "{winner.rule}": words "')


def test_the_reason_names_the_rule_and_every_word_that_matched():
    found = tags_of("I feel suicidal. We have no food and there is domestic abuse at home.")
    assert found[(Axis.SENSITIVITY, True)].reason == (
        'rule "safeguarding: sensitivity": words "suicidal", "no food", "domestic abuse"'
    )


def test_the_demo_crisis_letter_is_flagged_with_its_own_words():
    features = from_eml(DEMO / "0011-daniel-reid-crisis.eml")
    found = {(p.axis, p.primary): p for p in propose(features, DEFAULTS)}
    assert value(found, Axis.URGENCY) == "immediate"
    assert '"see the point in carrying on"' in found[(Axis.URGENCY, True)].reason
    assert value(found, Axis.ISSUE) == "Housing › Eviction"


def test_eviction_today_or_tomorrow_is_found_by_a_pattern_as_well():
    found = tags_of("The bailiffs are coming on Thursday. The locks being changed tomorrow!")
    assert value(found, Axis.URGENCY) == "immediate"
    assert 'pattern matched "locks being changed tomorrow"' in found[(Axis.URGENCY, True)].reason
    calm = tags_of("I was evicted in 2019 and have been rehoused since. Tomorrow is fine.")
    assert value(calm, Axis.URGENCY) != "immediate"


@pytest.mark.parametrize(
    ("text", "issue"),
    [
        ("My wife's visa application has been waiting 30 weeks.", "Visa applications and delays"),
        (
            "My biometric residence permit has the wrong date of birth.",
            "Biometric residence permits",
        ),
        ("We have only had automated replies from UKVI.", "Visa applications and delays"),
    ],
)
def test_immigration_words_refer_to_a_department_and_are_special_category(text, issue):
    found = tags_of(text)
    assert value(found, Axis.ISSUE) == f"Immigration and visas › {issue}"
    assert value(found, Axis.TRANSFERABILITY) == "refer to a government department"
    assert value(found, Axis.SENSITIVITY) == "special category"


@pytest.mark.parametrize(
    ("text", "issue"),
    [
        ("My council tax bill doubled this year.", "Council tax › Bills and arrears"),
        (
            "There has been no bin collection on our street for three weeks.",
            "Environment and waste › Bin collections",
        ),
    ],
)
def test_council_business_is_referred_to_the_council(text, issue):
    found = tags_of(text)
    assert value(found, Axis.TRANSFERABILITY) == "refer to the council"
    assert value(found, Axis.ISSUE) == issue


def test_health_is_special_category_data():
    found = tags_of("I have been on the hospital waiting list for 70 weeks; my GP is no help.")
    assert value(found, Axis.SENSITIVITY) == "special category"
    assert value(found, Axis.ISSUE) == "NHS and health › Hospital waiting lists"
    assert found[(Axis.SENSITIVITY, True)].reason == 'rule "health": words "hospital", "gp"'


def test_corpus_letters_get_the_issue_a_caseworker_would_give():
    visa = {
        (p.axis, p.primary): p.value
        for p in propose(from_eml(CORPUS / "C-01-constituent-visa-delay.eml"), DEFAULTS)
    }
    council = {
        (p.axis, p.primary): p.value
        for p in propose(from_eml(CORPUS / "D-01-constituent-council-tax.eml"), DEFAULTS)
    }
    pip = {
        (p.axis, p.primary): p.value
        for p in propose(from_eml(CORPUS / "attach-pdf-and-image.eml"), DEFAULTS)
    }
    assert visa[(Axis.ISSUE, True)] == "Immigration and visas › Visa applications and delays"
    assert council[(Axis.ISSUE, True)] == "Council tax › Reductions and discounts"
    assert council[(Axis.ISSUE, False)] == "Council tax › Bills and arrears"
    assert council[(Axis.TRANSFERABILITY, True)] == "refer to the council"
    assert pip[(Axis.ISSUE, True)] == "Benefits and Universal Credit › PIP"


def test_every_default_rule_sets_a_value_that_exists_in_the_default_taxonomy():
    spec = default_taxonomy()
    known = {(t.axis, path_key(t.path)) for t in spec.tags}
    missing = [r.name for r in spec.rules if (r.axis, path_key(r.value)) not in known]
    assert missing == []


# Precedence ---------------------------------------------------------------------------


def test_safeguarding_outranks_a_plain_urgent():
    found = tags_of("URGENT: the bailiffs are here and I want to end my life.")
    assert value(found, Axis.URGENCY) == "immediate"
    assert found[(Axis.URGENCY, True)].rule == "safeguarding: urgency"


def test_out_of_area_outranks_a_department_referral():
    rules = RuleSet([*DEFAULT_RULES, out_of_area_rule(["EX1", "EX4 6"])])
    features = MessageFeatures(
        text="My Universal Credit stopped.", kind="constituent", postcode="YO62 7HL"
    )
    found = {(p.axis, p.primary): p for p in propose(features, rules)}
    assert value(found, Axis.TRANSFERABILITY) == "not for this representative"
    assert found[(Axis.TRANSFERABILITY, True)].reason == (
        'rule "out of area": postcode YO62 7HL is outside the listed areas'
    )


@pytest.mark.parametrize(
    ("postcode", "outside"),
    [
        ("EX1 2AB", False),
        ("ex4 6hq", False),
        ("EX4 7AA", True),
        ("YO62 7HL", True),
        (None, False),
        ("not a postcode", False),
    ],
)
def test_out_of_area_by_district_and_sector(postcode, outside):
    rule = out_of_area_rule(["EX1", "EX4 6"])
    reason = rule.check(MessageFeatures(text="hello", postcode=postcode))
    assert (reason is not None) is outside


def rule(name: str, value: str, priority: int = 50, **criteria: object) -> Rule:
    return Rule(name=name, axis=Axis.ISSUE, value=value, priority=priority, **criteria)  # type: ignore[arg-type]


def test_higher_priority_wins_and_the_next_issues_are_secondary():
    rules = [
        rule("broad", "Housing", 20, keywords=("landlord",)),
        rule("specific", "Housing › Repairs", 40, keywords=("leak",)),
        rule("other", "Energy", 30, keywords=("boiler",)),
    ]
    found = propose(MessageFeatures(text="The landlord ignores the leak and the boiler."), rules)
    assert [(p.value, p.primary) for p in found] == [
        ("Housing › Repairs", True),
        ("Energy", False),
        ("Housing", False),
    ]


def test_at_equal_priority_the_subject_then_more_words_then_rule_order_decide():
    rules = [
        rule("first", "A", keywords=("apple",)),
        rule("second", "B", keywords=("banana", "berry")),
        rule("third", "C", keywords=("cherry",)),
    ]
    body_only = propose(MessageFeatures(text="apple banana berry cherry"), rules)
    assert body_only[0].value == "B"  # two words beat one
    in_subject = propose(MessageFeatures(subject="cherry", text="apple banana berry"), rules)
    assert in_subject[0].value == "C"  # the subject says what the mail is about
    tie = propose(MessageFeatures(text="cherry apple"), rules)
    assert tie[0].value == "A"  # the earlier rule


def test_one_value_per_scale_axis():
    rules = [
        Rule(name="a", axis=Axis.URGENCY, value="high", priority=50, keywords=("soon",)),
        Rule(name="b", axis=Axis.URGENCY, value="low", priority=10, keywords=("whenever",)),
    ]
    found = propose(MessageFeatures(text="soon or whenever"), rules)
    assert [(p.axis, p.value) for p in found] == [(Axis.URGENCY, "high")]


# What a rule can match on -------------------------------------------------------------


def test_every_criterion_a_rule_names_must_hold():
    dwp = Rule(
        name="dwp reply about a sanction",
        axis=Axis.URGENCY,
        value="high",
        senders=("dwp.gov.uk",),
        keywords=("sanction",),
        kinds=("third_party",),
    )
    reply = MessageFeatures(
        text="The sanction stands.", sender="mp.team@dwp.gov.uk", kind="third_party"
    )
    assert dwp.check(reply) == (
        'rule "dwp reply about a sanction": words "sanction"; sender domain dwp.gov.uk; '
        "message is a third-party reply"
    )
    assert (
        dwp.check(
            MessageFeatures(text="The sanction stands.", sender="x@example.com", kind="third_party")
        )
        is None
    )
    assert (
        dwp.check(
            MessageFeatures(text="All fine.", sender="mp.team@dwp.gov.uk", kind="third_party")
        )
        is None
    )


def test_attachment_types_sender_addresses_and_subject_only_keywords():
    scans = Rule(
        name="scans",
        axis=Axis.SENSITIVITY,
        value="personal",
        attachment_types=("image/*", "application/pdf"),
    )
    person = Rule(
        name="vip", axis=Axis.URGENCY, value="high", senders=("Leader@Council.example.gov.uk",)
    )
    subject = Rule(
        name="fwd",
        axis=Axis.URGENCY,
        value="low",
        keywords=("petition",),
        search_in=SearchIn.SUBJECT,
    )
    assert (
        scans.check(MessageFeatures(attachment_types=("image/png",)))
        == 'rule "scans": attachment of type image/png'
    )
    assert scans.check(MessageFeatures(attachment_types=("text/plain",))) is None
    assert person.check(MessageFeatures(sender="leader@council.example.gov.uk")) is not None
    assert person.check(MessageFeatures(sender="other@council.example.gov.uk")) is None
    assert (
        subject.check(MessageFeatures(subject="Sign our petition"))
        == 'rule "fwd": words "petition" in the subject'
    )
    assert subject.check(MessageFeatures(subject="Hello", text="sign the petition")) is None


def test_keywords_match_whole_words_phrases_across_lines_and_stems():
    visa = rule("visa", "Immigration", keywords=("visa",))
    phrase = rule("phrase", "Housing", keywords=("no hot water",))
    stem = rule("stem", "Housing › Eviction", keywords=("evict*",))
    assert visa.check(MessageFeatures(text="a visual problem, advisable")) is None
    assert visa.check(MessageFeatures(text="My VISA was refused.")) is not None
    assert phrase.check(MessageFeatures(text="We have had no\nhot  water for a week")) is not None
    assert (
        stem.check(MessageFeatures(text="They are evicting us")) == 'rule "stem": words "evicting"'
    )
    assert stem.check(MessageFeatures(text="revictimised")) is None  # not mid-word


def test_a_longer_phrase_also_counts_for_a_rule_that_names_part_of_it():
    rules = RuleSet(
        [
            rule("abuse", "Social care", keywords=("abuse",)),
            rule("da", "Housing", 60, keywords=("domestic abuse",)),
        ]
    )
    found = rules.matches(MessageFeatures(text="I am fleeing domestic abuse."))
    assert {m.rule.name: m.terms for m in found} == {"abuse": ("abuse",), "da": ("domestic abuse",)}


def test_regular_expressions_report_what_they_matched():
    ref = rule("gwf", "Immigration", patterns=(r"\bGWF\d{9}\b",))
    assert ref.check(MessageFeatures(text="reference GWF071234567 please")) == (
        'rule "gwf": pattern matched "GWF071234567"'
    )


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"patterns": ("([unclosed",)}, "not a valid regular expression"),
        ({"outside_postcodes": ("EXETER",)}, "not a postcode area"),
        ({"senders": ("not an address",)}, "neither an email address nor a domain"),
        ({"attachment_types": ("pdf",)}, "not a content type"),
        ({"kinds": ("spam",)}, "unknown message kind"),
        ({}, "at least one thing to match on"),
        ({"keywords": ("a;b",)}, "without ; or line breaks"),
    ],
)
def test_a_rule_that_could_never_work_is_refused_with_its_name(criteria, message):
    with pytest.raises(TaggingError, match=message) as raised:
        rule("broken rule", "Housing", **criteria)
    assert str(raised.value).startswith("rule 'broken rule': ")


# How proposals land on a case ----------------------------------------------------------

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def proposal(axis: Axis, value: str, priority: int, primary: bool = True) -> Proposal:
    return Proposal(axis, value, f"rule for {value}", priority, f"because {value}", primary)


def test_a_manual_tag_is_never_replaced_by_a_rule():
    case = assign.apply(assign.Assignment(), [], AT)
    case = assign.set_manual(case, Axis.URGENCY, "low", who="sam", reason="spoke to her", at=AT)
    case = assign.apply(case, [proposal(Axis.URGENCY, "immediate", 100)], AT)
    assert (case.slots[Axis.URGENCY].value, case.slots[Axis.URGENCY].source) == ("low", "manual")


def test_rules_only_climb_and_an_outranked_primary_issue_stays_as_secondary():
    case = assign.apply(
        assign.Assignment(),
        [proposal(Axis.ISSUE, "Housing › Repairs", 40), proposal(Axis.URGENCY, "high", 50)],
        AT,
    )
    case = assign.apply(
        case, [proposal(Axis.URGENCY, "low", 30), proposal(Axis.ISSUE, "Energy", 40)], AT
    )
    assert case.slots[Axis.URGENCY].value == "high"  # a lower-priority rule does not lower it
    assert case.slots[Axis.ISSUE].value == "Housing › Repairs"  # equal priority: first stays
    assert list(case.secondary) == [path_key("Energy")]
    case = assign.apply(case, [proposal(Axis.ISSUE, "Housing › Eviction", 45)], AT)
    assert case.slots[Axis.ISSUE].value == "Housing › Eviction"
    assert sorted(case.secondary) == sorted([path_key("Energy"), path_key("Housing › Repairs")])


def test_every_axis_has_a_value_even_when_no_rule_matched():
    case = assign.apply(assign.Assignment(), [], AT)
    assert {a: t.value for a, t in case.slots.items()} == {
        Axis.ISSUE: "Other",
        Axis.URGENCY: "normal",
        Axis.SENSITIVITY: "standard",
        Axis.TRANSFERABILITY: "office can resolve",
    }
    assert all(t.source == "default" for t in case.slots.values())
