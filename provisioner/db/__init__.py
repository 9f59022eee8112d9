"""Persistence: the typed ORM models, the engine and session factory, and migrations."""
