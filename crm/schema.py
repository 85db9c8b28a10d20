"""Every model module in one import, so Base.metadata knows every table (migrations, tests)."""

from typing import Any

from crm import audit, late_parents, models, notes  # noqa: F401
from crm.access import CARRIED_POSTCODE
from crm.campaigns import models as campaign_models  # noqa: F401
from crm.enquiries import models as enquiry_models  # noqa: F401
from crm.followups import models as followup_models  # noqa: F401
from crm.informing import models as informing_models  # noqa: F401
from crm.letters import models as letter_models  # noqa: F401
from crm.outgoing import models as outgoing_models  # noqa: F401
from crm.privacy import models as privacy_models  # noqa: F401
from crm.reports import models as report_models  # noqa: F401
from crm.tags import models as tag_models  # noqa: F401
from crm.tags.carried import TAG_IDS_COLUMN
from crm.users import models as user_models  # noqa: F401
from crm.words import WORDS_COLUMN, WORDS_INDEX

# Made by migrations alone and never written by the ORM: the letters' words the database
# generates (crm.words) and the copies that triggers keep, of each case's tag ids
# (crm.tags.carried, PostgreSQL's alone) and of its constituent's postcode (crm.access).
DATABASE_ONLY = frozenset({WORDS_COLUMN, WORDS_INDEX, TAG_IDS_COLUMN, CARRIED_POSTCODE})


def in_the_models(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic's comparisons: what the models declare, not what only the database has."""
    return name not in DATABASE_ONLY
