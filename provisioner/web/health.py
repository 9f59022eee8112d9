"""``/readyz`` for load balancers and systemd: 503 until this worker can serve the inventory.

``/healthz`` (alive, in device_files) says the process answers; ``/readyz`` also needs the
database reachable and its schema at the code's revision: a worker of a new version in front of
a database not yet migrated would render from columns that do not exist.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from provisioner.domain.delivery.pipeline import Provisioner
from provisioner.domain.operations.readiness import readiness

health = Blueprint("health", __name__)


@health.route("/readyz", methods=["GET"])
def readyz() -> Response:
    provisioner: Provisioner = current_app.extensions["provisioner"]
    state = readiness(provisioner.db)
    response = jsonify(
        ready=state.ready,
        database="ok" if state.database else "unreachable",
        schema=state.schema,
        expected_schema=state.head,
    )
    response.status_code = 200 if state.ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
