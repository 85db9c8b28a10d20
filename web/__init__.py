"""A thin Litestar layer over crm services."""
