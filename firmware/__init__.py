"""Firmware images per vendor and model: versions, a content-addressed catalog
(docs/architecture.md, 'Parts').

Imports nothing from ``provisioner``: the front doors serve what this package decides.
"""
