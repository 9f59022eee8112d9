"""Firmware images per vendor and model: versions, a content-addressed catalog (DESIGN.md §1).

Imports nothing from ``provisioner``: the front doors serve what this package decides.
"""
