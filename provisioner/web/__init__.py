"""The HTTP front door: a Flask application factory with one blueprint per concern."""

from __future__ import annotations

from flask import Flask

from provisioner.domain.delivery.pipeline import Provisioner
from provisioner.domain.delivery.resync import ResyncQueue
from provisioner.sip.notify import send_notify
from provisioner.web.api import api_app
from provisioner.web.device_files import device_files
from provisioner.web.firmware import firmware
from provisioner.web.gateway import gateway
from provisioner.web.metrics import metrics
from provisioner.web.staging import staging


def create_app(provisioner: Provisioner) -> Flask:
    app = api_app(__name__)  # the admin API's blueprints and error handling
    app.extensions["provisioner"] = provisioner
    app.extensions["resync"] = ResyncQueue(provisioner, send_notify)
    app.register_blueprint(firmware)  # before the device files' catch-all route
    app.register_blueprint(staging)  # the warehouse pages under /staging/
    app.register_blueprint(gateway)
    app.register_blueprint(device_files)
    app.register_blueprint(metrics)
    return app
