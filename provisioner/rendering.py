"""Turns a vendor module's :class:`TemplatePlan` into the bytes a device receives.

One renderer serves every front door (HTTP, TFTP, the CLI), so the same file name always
yields the same bytes. Escaping is chosen by template format: ``*.xml.j2`` templates are
XML-escaped by Jinja2's autoescape; Panasonic text templates get values the vendor module
has already checked against the quoted-line rules.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import jinja2

from provisioner.vendors.base import TemplatePlan


def templates_dir() -> Path:
    """``templates/`` as installed: the package ``provisioner.templates`` maps onto it."""
    return Path(str(resources.files("provisioner.templates")))


@cache
def _environment() -> jinja2.Environment:
    """Templates ship with the code, so a compiled one is never checked against its file
    again (``auto_reload`` would stat it on every render: a cold boot storm renders
    thousands); a new release restarts the processes."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        auto_reload=False,
        autoescape=jinja2.select_autoescape(enabled_extensions=("xml.j2", "xml")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_plan(plan: TemplatePlan) -> bytes:
    """Render a plan to the exact bytes served (UTF-8; CR LF line ends where the vendor asks)."""
    text = _environment().get_template(plan.template).render(params=plan.params, **plan.variables)
    if plan.crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text.encode("utf-8")


def render_template(name: str, **variables: object) -> str:
    """Any other file rendered from templates/ (e.g. the PBX core's kamailio.cfg)."""
    return _environment().get_template(name).render(**variables)
