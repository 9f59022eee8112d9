"""Swagger UI for ``/api/v1/docs``, served from the pinned ``swagger-ui-bundle`` package.

APIFlask's default page loads the latest Swagger UI from a CDN: code nobody reviewed, changing
under us, in a page that holds an admin's bearer token. These routes serve the package's files
instead (its version is pinned in pyproject.toml), and ``api_app`` points the page at them.
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from provisioner.web.api.context import API_PREFIX

UI_PREFIX = f"{API_PREFIX}/docs/ui"
FILES = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
     "favicon-32x32.png"}
)  # fmt: skip

bp = APIBlueprint("docs_ui", __name__, url_prefix=UI_PREFIX, enable_openapi=False)


def ui_config() -> dict[str, str]:
    """APIFlask's settings that make the docs page load the files below."""
    return {
        "SWAGGER_UI_CSS": f"{UI_PREFIX}/swagger-ui.css",
        "SWAGGER_UI_BUNDLE_JS": f"{UI_PREFIX}/swagger-ui-bundle.js",
        "SWAGGER_UI_STANDALONE_PRESET_JS": f"{UI_PREFIX}/swagger-ui-standalone-preset.js",
        "DOCS_FAVICON": f"{UI_PREFIX}/favicon-32x32.png",
    }


@bp.get("/<name>")
def ui_file(name: str) -> Response:
    if name not in FILES:
        abort(404)
    return send_from_directory(swagger_ui_path, name, max_age=86_400)
