"""The warehouse staging pages under ``/staging/``: log in, scan, bind, watch the bench, ship,
print labels, upload sheets. Server-rendered (Jinja2); a little JavaScript refreshes the bench.

Views stay thin: each form is checked here, one domain call does the work in one unit of work,
and a refusal is shown in the page's language with the domain's reason.
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask.blueprints import BlueprintSetupState

from provisioner.web.staging import guard, order_views, views

# An APIBlueprint only so that the API document generator can skip it (not part of the API).
staging = APIBlueprint(
    "staging",
    __name__,
    url_prefix="/staging",
    template_folder="templates",
    static_folder="static",
    enable_openapi=False,
)
staging.before_request(guard.check_request)
staging.after_request(guard.page_headers)
staging.context_processor(
    lambda: {"t": guard.t, "csrf_field": guard.csrf_field, "language": guard.language}
)
staging.add_app_template_filter(views.jst, "jst")
views.register(staging)
order_views.register(staging)


@staging.record_once
def _configure(state: BlueprintSetupState) -> None:
    guard.configure(state.app, state.app.extensions["provisioner"])
