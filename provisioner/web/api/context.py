"""What every API view needs: the prefix, the service it runs in, a unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy.orm import Session

from provisioner.domain.delivery.pipeline import Provisioner

API_PREFIX = "/api/v1"


def provisioner() -> Provisioner:
    return current_app.extensions["provisioner"]


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction per request: committed when the view's work succeeds, else undone.

    The devices it touched are kept in ``g.touched_devices`` for the resync after the
    response (``resync_touched``).
    """
    with provisioner().db.session() as session:
        yield session
    touched: set[int] = g.setdefault("touched_devices", set())
    touched |= session.info.pop("touched_devices", set())
