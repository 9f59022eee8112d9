"""The HTTP front door: a Flask application factory with one blueprint per concern."""

from __future__ import annotations

from flask import Flask

from provisioner.app.service import Service
from provisioner.web.api import api_app
from provisioner.web.customer import customer
from provisioner.web.device_files import device_files
from provisioner.web.firmware import firmware
from provisioner.web.gateway import gateway
from provisioner.web.health import health
from provisioner.web.metrics import metrics
from provisioner.web.phonebook import phonebook
from provisioner.web.staging import staging


def create_app(service: Service) -> Flask:
    """The application over an opened service: views reach its parts through ``extensions``."""
    app = api_app(__name__)  # the admin API's blueprints and error handling
    app.extensions["provisioner"] = service.provisioner
    app.extensions["resync"] = service.resync
    app.extensions["firmware"] = service.catalog
    app.register_blueprint(health)
    app.register_blueprint(firmware)  # before the device files' catch-all route
    app.register_blueprint(staging)  # the warehouse pages under /staging/
    app.register_blueprint(customer)  # the customers' own pages under /customer/
    app.register_blueprint(gateway)
    app.register_blueprint(phonebook)
    app.register_blueprint(device_files)
    app.register_blueprint(metrics)
    return app
