"""The taxonomy Mailbag ships: the issues UK MP and councillor offices really see."""

from __future__ import annotations

from tagging.axes import DEFAULT_SCALES, OTHER_ISSUE, Axis
from tagging.default_rules import DEFAULT_RULES
from tagging.taxonomy import TagSpec, TaxonomySpec

# Top-level issue -> sub-issues, in the order an office reads them. Two levels at most.
DEFAULT_ISSUES: dict[str, tuple[str, ...]] = {
    "Housing": (
        "Repairs",
        "Damp and mould",
        "Homelessness",
        "Eviction",
        "Social housing allocation",
        "Private renting",
        "Temporary accommodation",
    ),
    "Immigration and visas": (
        "Visa applications and delays",
        "Biometric residence permits",
        "Asylum",
        "EU Settlement Scheme",
        "Citizenship",
    ),
    "Passports": ("Applications and renewals",),
    "Benefits and Universal Credit": (
        "Universal Credit",
        "PIP",
        "ESA",
        "Carer's Allowance",
        "Sanctions",
        "Overpayments and deductions",
        "Housing Benefit",
    ),
    "NHS and health": (
        "GP services",
        "Hospital waiting lists",
        "Mental health",
        "Dentistry",
        "Ambulance and A&E",
    ),
    "Social care": ("Adult social care", "Children's services"),
    "Schools and SEND": (
        "School places and admissions",
        "SEND and EHCPs",
        "School transport",
        "Exclusions",
    ),
    "Council tax": ("Bills and arrears", "Reductions and discounts", "Enforcement and bailiffs"),
    "Planning": ("Planning applications", "Planning enforcement"),
    "Anti-social behaviour and policing": (
        "Anti-social behaviour",
        "Noise nuisance",
        "Crime and police response",
    ),
    "Roads and transport": ("Potholes and road repairs", "Parking", "Buses and trains"),
    "Environment and waste": ("Bin collections", "Fly-tipping", "Flooding"),
    "Energy": ("Bills and debt", "Prepayment meters", "Insulation and efficiency"),
    "Consumer": ("Scams and fraud", "Banking and finance", "Faulty goods and services"),
    "Pensions": ("State Pension", "Pension Credit", "Workplace pensions"),
    "HMRC and tax": ("Tax codes", "Self Assessment", "Child Benefit", "Tax credits"),
    "Child maintenance": ("Payments and arrears",),
    "Employment": ("Pay and conditions", "Dismissal and redundancy"),
    "Driving and DVLA": ("Driving licences", "Vehicle tax and registration"),
    "Justice and courts": ("Courts and tribunals", "Legal aid"),
    "Policy and campaigns": ("Policy views", "Campaign mail"),
    OTHER_ISSUE: (),
}


def default_tags() -> tuple[TagSpec, ...]:
    """Every shipped value: issues (parents before their children) then the three scales."""
    tags: list[TagSpec] = []
    for parent, children in DEFAULT_ISSUES.items():
        tags.append(TagSpec(Axis.ISSUE, parent))
        tags.extend(TagSpec(Axis.ISSUE, child, parent=parent) for child in children)
    for axis, values in DEFAULT_SCALES.items():
        tags.extend(TagSpec(axis, value) for value in values)
    return tuple(tags)


def default_taxonomy() -> TaxonomySpec:
    return TaxonomySpec(tags=default_tags(), rules=DEFAULT_RULES)
