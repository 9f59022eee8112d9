"""The customer pages under ``/customer/``: a customer's administrator sees and changes its own
tenant's phones, office networks and history, and schedules changes for a date.

Server-rendered like the staging pages, Japanese by default, for a phone's browser too. Every
change goes through the admin API in-process as the logged-in customer (``api_call``), so the
pages take exactly what the API takes for the customer role, with the same tenant scope,
history and ``apply_at``. Reads call the domain on sessions scoped to the tenant.
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask.blueprints import BlueprintSetupState

from provisioner.web.customer import guard, views
from provisioner.web.customer.sessions import CUSTOMER_PREFIX, PathSessions
from provisioner.web.staging.guard import csrf_field, language, page_headers

# An APIBlueprint only so that the API document generator can skip it (not part of the API).
customer = APIBlueprint(
    "customer",
    __name__,
    url_prefix=CUSTOMER_PREFIX,
    template_folder="templates",
    static_folder="static",
    enable_openapi=False,
)
customer.before_request(guard.check_request)
customer.after_request(page_headers)
customer.context_processor(
    lambda: {"t": guard.t, "csrf_field": csrf_field, "language": language, "jst": views.jst}
)
views.register(customer)


@customer.record_once
def _configure(state: BlueprintSetupState) -> None:
    state.app.session_interface = PathSessions()
