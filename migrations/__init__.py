"""Alembic migrations of the testrun database (async env.py, dated revision files)."""
