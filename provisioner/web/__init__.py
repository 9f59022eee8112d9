"""The HTTP front door: a Flask application factory with one blueprint per concern."""

from __future__ import annotations

from flask import Flask

from provisioner.domain.delivery import Provisioner
from provisioner.web.device_files import device_files


def create_app(provisioner: Provisioner) -> Flask:
    app = Flask(__name__)
    app.extensions["provisioner"] = provisioner
    app.register_blueprint(device_files)
    return app
