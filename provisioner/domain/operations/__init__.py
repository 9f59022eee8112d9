"""Running the service for years: backups, key rotation, timeline retention, convergence."""
