"""The entry point each HTTP worker process builds its application from.

Workers are separate processes: each opens its own database pool, render cache and timeline
writer from the same ``PROVISIONER_*`` environment the ``serve`` command prepared. granian
serves ``front_from_environment`` (RSGI: device files answered from the request's parts,
anything else with its body buffered before a thread runs Flask; see ``provisioner.web.front``).
"""

from __future__ import annotations

import atexit
import gc

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
    service.provisioner.prime(settings.prime_devices)
    service.timeline.start()
    atexit.register(service.close)
    app = create_app(service)
    front = BufferedFront(
        app.wsgi_app, settings.http_threads, settings.body_seconds, direct=DeviceFiles(app)
    )
    _freeze_start_up()
    return front


def _freeze_start_up() -> None:
    """Keep what start-up built (modules, Flask, SQLAlchemy, templates: about 160,000
    objects) out of every later full collection. Device files are answered on the event loop,
    so a full collection stops every request of the worker: it took 230-265 ms in a worker
    that had served 2,000 devices, 36-71 ms with start-up frozen (the caches' own objects
    remain). Nearly all of them live as long as the worker; one that later dies in a
    reference cycle stays in memory (refcounting still frees the rest)."""
    gc.collect()  # garbage of start-up first: what is frozen is never collected
    gc.freeze()
