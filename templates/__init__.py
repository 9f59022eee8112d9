"""Jinja2 templates, one folder per vendor; shipped inside the installed package."""
