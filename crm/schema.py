"""Every model module in one import, so Base.metadata knows every table (migrations, tests)."""

from crm import models  # noqa: F401
from crm.outgoing import models as outgoing_models  # noqa: F401
from crm.tags import models as tag_models  # noqa: F401
