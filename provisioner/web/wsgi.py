"""The entry point each HTTP worker process builds its application from.

Workers are separate processes: each opens its own database pool, render cache and timeline
writer from the same ``PROVISIONER_*`` environment the ``serve`` command prepared. granian
serves ``front_from_environment`` (RSGI: device files answered from the request's parts,
anything else with its body buffered before a thread runs Flask; see ``provisioner.web.front``).
"""

from __future__ import annotations

import atexit

from provisioner.app.logs import configure_logging
from provisioner.app.service import open_service
from provisioner.settings import Settings
from provisioner.web import create_app
from provisioner.web.device_files import DeviceFiles
from provisioner.web.front import BufferedFront


def front_from_environment() -> BufferedFront:
    """What granian's RSGI workers serve: the application behind the buffering front."""
    settings = Settings.load()
    configure_logging(settings.log_format)  # a granian worker: a process of its own
    service = open_service(settings, upgrade=False)
    service.timeline.start()
    atexit.register(service.close)
    app = create_app(service)
    return BufferedFront(
        app.wsgi_app, settings.http_threads, settings.body_seconds, direct=DeviceFiles(app)
    )
