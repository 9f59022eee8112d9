"""Fixtures the delivery tests share."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.domain.delivery import pipeline
from provisioner.domain.delivery.render_cache import RenderedFile
from provisioner.vendors.base import FileRequest


@pytest.fixture
def render_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The MAC of every file the pipeline renders from here on (any service of the test)."""
    seen: list[str] = []
    real = pipeline.render_file

    def counting(request: FileRequest, *args: Any) -> RenderedFile | None:
        seen.append(request.mac or "")
        return real(request, *args)

    monkeypatch.setattr(pipeline, "render_file", counting)
    return seen
