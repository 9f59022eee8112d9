"""One signed session cookie per set of pages: the staging pages' and the customer pages' are
two cookies with their own names, paths and signing salts, so neither is taken for the other."""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

CUSTOMER_PREFIX = "/customer"


class PathSessions(SecureCookieSessionInterface):
    def _customer(self) -> bool:
        return request.path == CUSTOMER_PREFIX or request.path.startswith(CUSTOMER_PREFIX + "/")

    def get_cookie_name(self, app: Flask) -> str:
        return "customer_session" if self._customer() else super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        return CUSTOMER_PREFIX if self._customer() else super().get_cookie_path(app)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not self._customer() or not app.secret_key:
            return super().get_signing_serializer(app)
        return URLSafeTimedSerializer(
            app.secret_key,
            salt="customer-session",
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )
