"""The rules Mailbag ships, and the out-of-area rule built from an office's postcode list.

Priorities (higher wins on an axis): 100 safeguarding, 90 out of area, 60 special-category
data, 55 replies from a department, 50 referral and high-urgency signals, 40-45 specific
issues, 30-35 broad issues and personal data, 10 the floor for constituent casework.
"""

from __future__ import annotations

from collections.abc import Iterable

from tagging.axes import (
    HIGH,
    IMMEDIATE,
    LOW,
    NOT_FOR_THIS_REPRESENTATIVE,
    PERSONAL,
    REFER_TO_COUNCIL,
    REFER_TO_GOVERNMENT,
    SAFEGUARDING,
    SPECIAL_CATEGORY,
    Axis,
)
from tagging.rules import Rule

OUT_OF_AREA = "out of area"

SAFEGUARDING_WORDS = (
    "suicide",
    "suicidal",
    "kill myself",
    "killing myself",
    "end my life",
    "end it all",
    "take my own life",
    "see the point in carrying on",
    "no point in carrying on",
    "don't want to live",
    "self-harm",
    "self-harming",
    "harm myself",
    "hurting myself",
    "cut myself",
    "overdose",
    "threatened to kill",
    "threatening to kill",
    "death threat*",
    "threatened me",
    "threatening me",
    "threats",
    "eviction tomorrow",
    "evicted tomorrow",
    "bailiffs tomorrow",
    "homeless tonight",
    "nowhere to sleep",
    "no food",
    "nothing to eat",
    "not eating",
    "haven't eaten",
    "can't afford food",
    "cannot afford food",
    "starving",
    "domestic abuse",
    "domestic violence",
    "abusive partner",
    "abusive husband",
    "abusive relationship",
    "coercive control",
    "afraid for my life",
    "fear for my life",
    "fear for my safety",
    "not safe at home",
    "child at risk",
)
IMMINENT_EVICTION = (
    r"\b(evict\w*|bailiffs?|locks? (?:being )?changed)\b[^.\n]{0,40}\b(tomorrow|today|tonight)\b"
)
HIGH_URGENCY_WORDS = (
    "eviction",
    "evicted",
    "section 21",
    "possession order",
    "bailiff*",
    "court hearing",
    "no heating",
    "no hot water",
    "no electricity",
    "disconnected",
    "cut off",
    "homeless*",
    "sleeping rough",
    "food bank",
    "fly in",
    "flying on",
    "travel next week",
)
HEALTH_WORDS = (
    "mental health",
    "depression",
    "anxiety",
    "cancer",
    "diagnos*",
    "disability",
    "disabled",
    "medication",
    "hospital",
    "gp",
    "nhs",
    "pregnan*",
    "hiv",
    "autism",
    "autistic",
    "adhd",
    "medical condition",
    "chronic",
    "illness",
    "camhs",
    "ehcp",
    "pip",
    "personal independence payment",
    "esa",
)
IMMIGRATION_STATUS_WORDS = (
    "visa",
    "visas",
    "ukvi",
    "biometric residence permit",
    "brp",
    "immigration status",
    "leave to remain",
    "indefinite leave",
    "asylum",
    "refugee",
    "settled status",
    "pre-settled status",
    "no recourse to public funds",
    "nrpf",
)
PERSONAL_WORDS = (
    "national insurance",
    "date of birth",
    "bank details",
    "bank account",
    "debt*",
    "arrears",
    "salary",
)
GOVERNMENT_WORDS = (
    "visa",
    "visas",
    "biometric residence permit",
    "brp",
    "ukvi",
    "home office",
    "asylum",
    "settled status",
    "passport",
    "hm passport office",
    "hmpo",
    "universal credit",
    "dwp",
    "jobcentre",
    "pip",
    "esa",
    "carer's allowance",
    "carers allowance",
    "state pension",
    "pension credit",
    "hmrc",
    "tax code",
    "child benefit",
    "tax credits",
    "child maintenance",
    "dvla",
    "driving licence",
)
GOVERNMENT_SENDERS = (
    "dwp.gov.uk",
    "homeoffice.gov.uk",
    "hmrc.gov.uk",
    "hmpo.gov.uk",
    "dvla.gov.uk",
    "dmsmpcorrespondence.gov.uk",
)
COUNCIL_WORDS = (
    "council tax",
    "bin collection",
    "bin collections",
    "bins",
    "missed bin*",
    "pothole*",
    "fly-tipping",
    "flytipping",
    "planning application",
    "planning permission",
    "housing options",
    "housing register",
    "school transport",
    "ehcp",
    "parking permit",
    "street light*",
    "social services",
    "adult social care",
    "council house",
    "council flat",
)
CAMPAIGN_WORDS = (
    "i urge you",
    "please vote",
    "vote against",
    "vote for",
    "early day motion",
    "petition",
    "support the bill",
)

# (sub-issue path, priority, keywords): the issue axis, most specific first.
ISSUE_WORDS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("Housing › Damp and mould", 45, ("damp", "mould", "mouldy", "mold", "condensation")),
    (
        "Housing › Repairs",
        40,
        ("repair", "repairs", "disrepair", "leak*", "boiler", "no hot water", "broken window"),
    ),
    ("Housing › Homelessness", 45, ("homeless*", "sofa surfing", "sleeping rough", "rough sleep*")),
    (
        "Housing › Eviction",
        45,
        ("eviction", "evict*", "section 21", "section 8", "notice to quit", "possession order"),
    ),
    (
        "Housing › Social housing allocation",
        40,
        (
            "housing register",
            "housing list",
            "bidding",
            "council house",
            "council flat",
            "overcrowd*",
        ),
    ),
    (
        "Housing › Private renting",
        35,
        ("private landlord", "letting agent", "rent increase", "tenancy deposit", "landlord"),
    ),
    ("Housing › Temporary accommodation", 45, ("temporary accommodation", "hostel", "b&b")),
    (
        "Immigration and visas › Visa applications and delays",
        40,
        ("visa", "visas", "spouse visa", "ukvi", "visa application", "leave to remain"),
    ),
    (
        "Immigration and visas › Biometric residence permits",
        45,
        ("biometric residence permit", "brp", "evisa", "e-visa"),
    ),
    ("Immigration and visas › Asylum", 45, ("asylum", "refugee status", "asylum seeker")),
    (
        "Immigration and visas › EU Settlement Scheme",
        45,
        ("eu settlement scheme", "settled status", "pre-settled status", "euss"),
    ),
    ("Immigration and visas › Citizenship", 40, ("citizenship", "naturalisation")),
    (
        "Passports › Applications and renewals",
        40,
        ("passport", "passports", "hm passport office", "hmpo"),
    ),
    (
        "Benefits and Universal Credit › Universal Credit",
        40,
        ("universal credit", "uc", "work coach"),
    ),
    ("Benefits and Universal Credit › PIP", 45, ("pip", "personal independence payment")),
    ("Benefits and Universal Credit › ESA", 45, ("esa", "employment and support allowance")),
    (
        "Benefits and Universal Credit › Carer's Allowance",
        45,
        ("carer's allowance", "carers allowance"),
    ),
    ("Benefits and Universal Credit › Sanctions", 42, ("sanction", "sanctioned", "sanctions")),
    (
        "Benefits and Universal Credit › Overpayments and deductions",
        41,
        ("overpayment", "overpayments", "deduction", "deductions", "advance payment"),
    ),
    ("Benefits and Universal Credit › Housing Benefit", 45, ("housing benefit",)),
    (
        "NHS and health › GP services",
        40,
        ("gp", "gp surgery", "gp appointment", "doctor's appointment"),
    ),
    (
        "NHS and health › Hospital waiting lists",
        42,
        ("waiting list", "waiting time", "operation cancelled", "hospital appointment"),
    ),
    (
        "NHS and health › Mental health",
        42,
        ("mental health", "camhs", "depression", "anxiety", "psychiatri*"),
    ),
    ("NHS and health › Dentistry", 45, ("dentist", "dentists", "dental")),
    ("NHS and health › Ambulance and A&E", 45, ("ambulance", "a&e")),
    (
        "Social care › Adult social care",
        42,
        ("social care", "care home", "care package", "carers visits"),
    ),
    ("Social care › Children's services", 42, ("children's services", "child protection")),
    (
        "Schools and SEND › School places and admissions",
        40,
        ("school place", "school admission*", "admissions appeal", "school appeal"),
    ),
    (
        "Schools and SEND › SEND and EHCPs",
        45,
        (
            "ehcp",
            "ehc plan",
            "education health and care plan",
            "special educational needs",
            "senco",
            "sen support",
        ),
    ),
    ("Schools and SEND › School transport", 46, ("school transport", "school bus")),
    ("Schools and SEND › Exclusions", 45, ("excluded from school", "exclusion", "exclusions")),
    ("Council tax › Bills and arrears", 40, ("council tax", "liability order", "summons")),
    (
        "Council tax › Reductions and discounts",
        45,
        ("council tax reduction", "council tax support", "single person discount"),
    ),
    (
        "Council tax › Enforcement and bailiffs",
        43,
        ("enforcement agent", "enforcement agents", "bailiff", "bailiffs"),
    ),
    (
        "Planning › Planning applications",
        40,
        ("planning application", "planning permission", "planning committee", "planning"),
    ),
    (
        "Planning › Planning enforcement",
        45,
        ("planning enforcement", "without planning permission", "breach of planning"),
    ),
    (
        "Anti-social behaviour and policing › Anti-social behaviour",
        42,
        ("anti-social behaviour", "antisocial behaviour", "anti-social behavior", "asb"),
    ),
    (
        "Anti-social behaviour and policing › Noise nuisance",
        42,
        ("noise nuisance", "noisy neighbour*", "loud music"),
    ),
    (
        "Anti-social behaviour and policing › Crime and police response",
        38,
        ("police", "crime reference", "burglary", "theft", "assault", "drug dealing"),
    ),
    (
        "Roads and transport › Potholes and road repairs",
        45,
        ("pothole*", "road surface", "resurfacing"),
    ),
    ("Roads and transport › Parking", 42, ("parking", "pcn", "penalty charge notice")),
    (
        "Roads and transport › Buses and trains",
        40,
        ("bus service", "bus services", "bus route", "railway", "train services", "trains"),
    ),
    (
        "Environment and waste › Bin collections",
        45,
        ("bin collection", "bin collections", "bins", "missed bin*", "recycling"),
    ),
    ("Environment and waste › Fly-tipping", 45, ("fly-tipping", "flytipping", "fly-tipped")),
    ("Environment and waste › Flooding", 42, ("flooding", "flooded", "flood")),
    (
        "Energy › Bills and debt",
        40,
        ("energy bill*", "gas bill", "electricity bill", "energy supplier", "energy company"),
    ),
    (
        "Energy › Prepayment meters",
        45,
        ("prepayment meter", "pre-payment meter", "prepay meter", "self-disconnect*"),
    ),
    ("Energy › Insulation and efficiency", 40, ("insulation", "eco4", "heat pump", "cavity wall")),
    ("Consumer › Scams and fraud", 42, ("scam*", "fraud", "fraudster*", "phishing")),
    ("Consumer › Banking and finance", 35, ("my bank", "mortgage", "loan", "credit card")),
    (
        "Consumer › Faulty goods and services",
        35,
        ("refund", "faulty", "trading standards", "consumer rights"),
    ),
    ("Pensions › State Pension", 45, ("state pension", "pension age", "waspi")),
    ("Pensions › Pension Credit", 46, ("pension credit",)),
    ("Pensions › Workplace pensions", 40, ("workplace pension", "pension scheme", "final salary")),
    ("HMRC and tax › Tax codes", 45, ("tax code", "emergency tax", "p800")),
    ("HMRC and tax › Self Assessment", 45, ("self assessment", "tax return")),
    ("HMRC and tax › Child Benefit", 45, ("child benefit",)),
    ("HMRC and tax › Tax credits", 45, ("tax credits", "working tax credit", "child tax credit")),
    (
        "Child maintenance › Payments and arrears",
        45,
        ("child maintenance", "child maintenance service", "cms", "maintenance payments"),
    ),
    (
        "Employment › Pay and conditions",
        35,
        ("minimum wage", "unpaid wages", "holiday pay", "zero hours", "employer"),
    ),
    (
        "Employment › Dismissal and redundancy",
        40,
        ("unfair dismissal", "dismissed", "redundancy", "made redundant", "sacked"),
    ),
    ("Driving and DVLA › Driving licences", 45, ("dvla", "driving licence", "provisional licence")),
    ("Driving and DVLA › Vehicle tax and registration", 45, ("vehicle tax", "v5c", "car tax")),
    ("Justice and courts › Courts and tribunals", 30, ("court", "tribunal", "magistrates")),
    ("Justice and courts › Legal aid", 40, ("legal aid",)),
    ("Policy and campaigns › Campaign mail", 35, CAMPAIGN_WORDS),
)


def _issue_rules() -> Iterable[Rule]:
    for path, priority, words in ISSUE_WORDS:
        yield Rule(
            name=f"issue: {path}",
            description=f"Words that usually mean {path}",
            axis=Axis.ISSUE,
            value=path,
            priority=priority,
            keywords=words,
        )


def _pair(name: str, description: str, words: tuple[str, ...], **extra: object) -> list[Rule]:
    """Safeguarding words set two axes: urgency immediate and sensitivity safeguarding."""
    common = {"description": description, "priority": 100, **extra}
    return [
        Rule(
            name=f"{name}: urgency",
            axis=Axis.URGENCY,
            value=IMMEDIATE,
            keywords=words,
            **common,  # type: ignore[arg-type]
        ),
        Rule(
            name=f"{name}: sensitivity",
            axis=Axis.SENSITIVITY,
            value=SAFEGUARDING,
            keywords=words,
            **common,  # type: ignore[arg-type]
        ),
    ]


def _default_rules() -> tuple[Rule, ...]:
    rules = [
        *_pair(
            "safeguarding",
            "Risk to life or safety: suicide, self-harm, threats, abuse, no food, eviction now",
            SAFEGUARDING_WORDS,
        ),
        *_pair(
            "imminent eviction",
            "Eviction, bailiffs or a lock change today or tomorrow",
            ("evict*", "bailiff*", "locks changed", "locks being changed"),
            patterns=(IMMINENT_EVICTION,),
        ),
        Rule(
            name="urgent circumstances",
            description="Eviction, court, no heating, homelessness, travel within days",
            axis=Axis.URGENCY,
            value=HIGH,
            priority=50,
            keywords=HIGH_URGENCY_WORDS,
        ),
        Rule(
            name="marked urgent by the constituent",
            description="A constituent who writes urgent; office mail often says it in passing",
            axis=Axis.URGENCY,
            value=HIGH,
            priority=45,
            keywords=("urgent", "urgently", "emergency"),
            kinds=("constituent",),
        ),
        Rule(
            name="campaign mail",
            description="Policy views and campaign letters: answered, but not casework deadlines",
            axis=Axis.URGENCY,
            value=LOW,
            priority=30,
            keywords=CAMPAIGN_WORDS,
        ),
        Rule(
            name="health",
            description="Health is special-category data (UK GDPR article 9)",
            axis=Axis.SENSITIVITY,
            value=SPECIAL_CATEGORY,
            priority=60,
            keywords=HEALTH_WORDS,
        ),
        Rule(
            name="immigration status",
            description="Immigration status is treated as special-category data in the office",
            axis=Axis.SENSITIVITY,
            value=SPECIAL_CATEGORY,
            priority=60,
            keywords=IMMIGRATION_STATUS_WORDS,
        ),
        Rule(
            name="financial details",
            description="Debts, bank and benefit details are personal data",
            axis=Axis.SENSITIVITY,
            value=PERSONAL,
            priority=30,
            keywords=PERSONAL_WORDS,
        ),
        Rule(
            name="constituent casework",
            description="Mail from a constituent about their own affairs is personal data",
            axis=Axis.SENSITIVITY,
            value=PERSONAL,
            priority=10,
            kinds=("constituent",),
        ),
        Rule(
            name="government department matter",
            description="Visas, benefits, tax, passports, pensions: decided by a department",
            axis=Axis.TRANSFERABILITY,
            value=REFER_TO_GOVERNMENT,
            priority=50,
            keywords=GOVERNMENT_WORDS,
        ),
        Rule(
            name="reply from a government department",
            description="A department already answering on the case",
            axis=Axis.TRANSFERABILITY,
            value=REFER_TO_GOVERNMENT,
            priority=55,
            senders=GOVERNMENT_SENDERS,
            kinds=("third_party",),
        ),
        Rule(
            name="council matter",
            description="Council tax, bins, roads, planning, local housing: the council decides",
            axis=Axis.TRANSFERABILITY,
            value=REFER_TO_COUNCIL,
            priority=50,
            keywords=COUNCIL_WORDS,
        ),
        *_issue_rules(),
    ]
    return tuple(rules)


DEFAULT_RULES: tuple[Rule, ...] = _default_rules()


def out_of_area_rule(areas: Iterable[str]) -> Rule:
    """Mail from a postcode outside the office's patch is for another representative."""
    return Rule(
        name=OUT_OF_AREA,
        description="The constituent's postcode is outside the constituency or ward",
        axis=Axis.TRANSFERABILITY,
        value=NOT_FOR_THIS_REPRESENTATIVE,
        priority=90,
        outside_postcodes=tuple(areas),
    )
