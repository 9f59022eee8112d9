"""Registrations: what the shared PBX cores say about each line (see README, "Registrations")."""
