"""Who may reach the staging pages: staging networks only, a logged-in staff member, CSRF.

The session is Flask's signed cookie (HttpOnly, SameSite=Strict) under a key derived from the
service key, so every worker accepts it. It holds the staff name, the CSRF token and the
language; the staff account is looked up on every request, so disabling it ends its sessions.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from flask import Flask, Response, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from provisioner.db.actor import current, set_actor
from provisioner.domain.access import staff
from provisioner.domain.delivery.pipeline import Provisioner, client_address, in_networks
from provisioner.web.api.context import provisioner
from provisioner.web.staging.messages import DEFAULT_LANGUAGE, LANGUAGES, translate

SESSION_HOURS = 12  # one working day on the bench
OPEN_ENDPOINTS = frozenset({"staging.login", "staging.static"})


def configure(app: Flask, service: Provisioner) -> None:
    app.secret_key = service.box.derive_key("staging-session")
    app.config.update(
        SESSION_COOKIE_NAME="staging_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/staging",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
    )


def language() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **values: object) -> str:
    return translate(language(), key, **values)


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_field() -> Markup:
    """The hidden input every form of ours carries."""
    return Markup('<input type="hidden" name="csrf" value="{}">').format(csrf_token())


def start_session(username: str) -> None:
    """A fresh session at login: nothing from before it (language aside) carries over."""
    lang = language()
    session.clear()
    session.permanent = True
    session.update(staff=username, lang=lang, csrf=secrets.token_urlsafe(32))


def check_request() -> ResponseReturnValue | None:
    """The blueprint's before_request: network, language switch, login, CSRF."""
    service = provisioner()
    source = client_address(request.remote_addr or "", request.headers.get("X-Forwarded-For"),
                            service.proxies)  # fmt: skip
    if not in_networks(source, service.staging):
        body = render_template("staging/denied.html", message=t("denied_network", source=source))
        return Response(body, 403, content_type="text/html; charset=utf-8")
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        session["lang"] = wanted
    if request.method == "POST":
        sent = request.form.get("csrf", "")
        expected = session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            body = render_template("staging/denied.html", message=t("csrf_failed"))
            return Response(body, 400, content_type="text/html; charset=utf-8")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    username = session.get("staff")
    if username:
        with service.db.session() as db_session:
            if staff.active_staff(db_session, username) is not None:
                g.staff = username
                set_actor(current().within(name=actor(), role="staff"))
                return None
        session.clear()
    return redirect(url_for("staging.login", next=request.path))


def actor() -> str:
    """How the logged-in staff member appears on device timelines."""
    return f"staff {g.staff}"
