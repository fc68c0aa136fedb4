"""Alembic migrations of the service's database (its own tables and the chain index's)."""
