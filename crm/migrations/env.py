"""Alembic environment: run with the connection `crm.migrate` hands over."""

from __future__ import annotations

from alembic import context

import crm.schema  # noqa: F401 - registers every table
from crm.models import Base
from crm.schema import in_the_models

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=in_the_models,
)
with context.begin_transaction():
    context.run_migrations()
