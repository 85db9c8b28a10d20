"""Every model module in one import, so Base.metadata knows every table (migrations, tests)."""

from crm import audit, late_parents, models, notes  # noqa: F401
from crm.campaigns import models as campaign_models  # noqa: F401
from crm.enquiries import models as enquiry_models  # noqa: F401
from crm.followups import models as followup_models  # noqa: F401
from crm.informing import models as informing_models  # noqa: F401
from crm.letters import models as letter_models  # noqa: F401
from crm.outgoing import models as outgoing_models  # noqa: F401
from crm.privacy import models as privacy_models  # noqa: F401
from crm.reports import models as report_models  # noqa: F401
from crm.tags import models as tag_models  # noqa: F401
from crm.users import models as user_models  # noqa: F401
