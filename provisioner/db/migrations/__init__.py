"""Alembic migrations of the inventory schema (run with ``provisioner db upgrade``)."""
