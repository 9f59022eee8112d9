"""Who may use the customer pages: a logged-in customer administrator (any network: customers
are on the internet), every POST with the session's CSRF token.

The session is its own cookie (``customer_session``, path ``/customer``, see ``sessions``); the
account is looked up on every request, so disabling it ends its sessions. The request then acts
as ``customer NAME`` of its tenant: the history names it and every query sees only its tenant.
"""

from __future__ import annotations

from flask import Response, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from provisioner.db.actor import current, set_actor
from provisioner.domain.access import staff
from provisioner.web.api.context import provisioner
from provisioner.web.customer.messages import translate
from provisioner.web.staging.guard import language, language_and_csrf, logged_in

OPEN_ENDPOINTS = frozenset({"customer.login", "customer.static"})


def t(key: str, **values: object) -> str:
    return translate(language(), key, **values)


def check_request() -> ResponseReturnValue | None:
    if not language_and_csrf():
        body = render_template("customer/message.html", error=t("csrf_failed"))
        return Response(body, 400, content_type="text/html; charset=utf-8")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    with provisioner().db.session() as db:
        username = logged_in(db, "customer")
        account = staff.active_customer(db, username) if username else None
        tenant_id = account.tenant_id if account is not None else None
    if username and tenant_id is not None:
        g.customer, g.tenant_id = username, tenant_id
        set_actor(current().within(name=f"customer {username}", role="customer",
                                   tenant_id=tenant_id))  # fmt: skip
        return None
    session.clear()
    return redirect(url_for("customer.login", next=request.path))
