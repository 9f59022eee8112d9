"""The WSGI entry point each HTTP worker process builds its application from.

Workers are separate processes: each opens its own database pool, render cache and timeline
writer from the same ``PROVISIONER_*`` environment the ``serve`` command prepared.
"""

from __future__ import annotations

import atexit

from flask import Flask

from provisioner.app.service import open_service
from provisioner.settings import Settings
from provisioner.web import create_app


def app_from_environment() -> Flask:
    service = open_service(Settings.load(), upgrade=False)
    service.timeline.start()
    atexit.register(service.close)
    return create_app(service)
