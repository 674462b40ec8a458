"""The console's translations per screen group (TOML files, read by services/console/i18n.py)."""
