"""Letters: office-editable jinja2 templates rendered strictly with a real case's data."""
