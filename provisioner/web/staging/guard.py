"""Who may reach the staging pages: staging networks only, a logged-in staff member, CSRF.

The session is Flask's signed cookie (HttpOnly, SameSite=Strict) under a key derived from the
service key, so every worker accepts it. It holds the staff name, the CSRF token, the language
and the id of a server-side session (``domain.access.sessions``): logging out deletes that, so
a copied cookie is refused after. The staff account is looked up on every request, so
disabling it ends its sessions.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, Response, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy.orm import Session

from provisioner.db.actor import current, set_actor
from provisioner.domain.access import sessions, staff
from provisioner.domain.delivery.pipeline import Provisioner, client_address, in_networks
from provisioner.web.api.context import provisioner
from provisioner.web.staging.messages import DEFAULT_LANGUAGE, LANGUAGES, translate

OPEN_ENDPOINTS = frozenset({"staging.login", "staging.static"})


def configure(app: Flask, service: Provisioner) -> None:
    app.secret_key = service.box.derive_key("staging-session")
    app.config.update(
        SESSION_COOKIE_NAME="staging_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/staging",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=sessions.SESSION_HOURS),
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


def start_session(db: Session, username: str, key: str = "staff") -> None:
    """A fresh session at login: nothing from before it (language aside) carries over.
    ``key``: what the session holds the name under (``customer`` on the customer pages)."""
    lang = language()
    session.clear()
    session.permanent = True
    session.update({key: username, "lang": lang, "csrf": secrets.token_urlsafe(32),
                    "sid": sessions.open_session(db, username)})  # fmt: skip


def end_session() -> None:
    """Log out: the server forgets the session, so no copy of the cookie works any more."""
    with provisioner().db.session() as db:
        sessions.close_session(db, session.get("sid", ""))
    session.clear()


def logged_in(db: Session, key: str) -> str | None:
    """The name this request's session is logged in as, if the server still holds it."""
    username = session.get(key)
    if username and sessions.session_user(db, session.get("sid", "")) == username:
        return str(username)
    return None


def language_and_csrf() -> bool:
    """The language switch, and on a POST whether it comes from our own pages: the form's CSRF
    token is the session's, and a browser's Origin (sent with every POST) names this host
    (every set of pages checks them alike)."""
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        session["lang"] = wanted
    if request.method != "POST":
        return True
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        return False  # another site's form, or "null" (a sandboxed frame, a data: page)
    sent = request.form.get("csrf", "")
    expected = session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def login_form(
    *,
    customer: bool,
    home: str,
    t: Callable[..., str],
    page: Callable[..., Response],
) -> ResponseReturnValue:
    """The login form of a set of pages: GET shows it, POST checks it (``staff.log_in``) and
    goes to ``next`` (a path under the same pages only: never an open redirect) or ``home``."""
    if request.method == "GET":
        return page("login.html")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return page("login.html", 422, error=t("login_missing"), username=username)
    service = provisioner()
    with service.db.session() as db:
        outcome = staff.log_in(db, username, password, service.settings.lockout_seconds,
                               source=source_address(), customer=customer)  # fmt: skip
        if outcome.result is staff.LoginResult.OK:
            start_session(db, username, "customer" if customer else "staff")
    if outcome.result is staff.LoginResult.OK:
        prefix = request.blueprint and url_for(f"{request.blueprint}.login").rsplit("/", 1)[0]
        target = request.args.get("next", "")
        if not target.startswith(f"{prefix}/") or target.startswith("//"):
            target = url_for(home)
        return redirect(target)
    if outcome.result is staff.LoginResult.LOCKED and outcome.locked_until is not None:
        left = outcome.locked_until - dt.datetime.now(dt.UTC)
        minutes = max(1, int(left.total_seconds() + 59) // 60)
        return page("login.html", 429, error=t("login_locked", minutes=minutes), username=username)
    return page("login.html", 401, error=t("login_refused"), username=username)


def source_address() -> str:
    """The client's address (a trusted proxy's X-Forwarded-For believed)."""
    return client_address(request.remote_addr or "", request.headers.get("X-Forwarded-For"),
                          provisioner().proxies)  # fmt: skip


# Our pages load scripts, styles and images from themselves only, post forms to themselves
# and are never framed (clickjacking); inline scripts and handlers are refused.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def page_headers(response: Response) -> Response:
    """The after_request of every set of pages: not framed, no inline script, no sniffing."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def check_request() -> ResponseReturnValue | None:
    """The blueprint's before_request: network, language switch, login, CSRF."""
    service = provisioner()
    source = source_address()
    if not in_networks(source, service.staging):
        body = render_template("staging/denied.html", message=t("denied_network", source=source))
        return Response(body, 403, content_type="text/html; charset=utf-8")
    if not language_and_csrf():
        body = render_template("staging/denied.html", message=t("csrf_failed"))
        return Response(body, 400, content_type="text/html; charset=utf-8")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    with service.db.session() as db_session:
        username = logged_in(db_session, "staff")
        if username and staff.active_staff(db_session, username) is not None:
            g.staff = username
            set_actor(current().within(name=actor(), role="staff"))
            return None
    session.clear()
    return redirect(url_for("staging.login", next=request.path))


def actor() -> str:
    """How the logged-in staff member appears on device timelines."""
    return f"staff {g.staff}"
