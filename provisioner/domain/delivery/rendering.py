"""Rendering: the bytes of a file variant, the one decision of which variant a source gets.

Pure of the pipeline's state (caches, limiter, timeline), so the delivery stage, the preview
of ``provisioner render`` and a resync's expected hash all compute the very same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib

from provisioner.domain.delivery.render_cache import RenderedFile
from provisioner.domain.inventory.lookup import FoundDevice
from provisioner.rendering import render_plan
from provisioner.secretbox import SecretBox
from provisioner.vendors import vendor
from provisioner.vendors.base import FileRequest, FirmwareOffer, ProvisioningContext


def render_file(
    request: FileRequest,
    found: FoundDevice | None,
    box: SecretBox,
    context: ProvisioningContext,
    staging: bool,
    firmware: FirmwareOffer | None = None,
) -> RenderedFile | None:
    """The file in clear, as a request from a staging network (or not) gets it; None: 404.

    The one place that decides which variant a source gets: with the device's provisioning
    credentials on a staging network, without them elsewhere; with the firmware step its
    rollout names, if any.
    """
    view = found.view if found else None
    if view is not None and staging and found is not None:
        view = dataclasses.replace(view, credentials=found.access.credentials(box))
    if view is not None and firmware is not None:
        view = dataclasses.replace(view, firmware=firmware)
    plan = vendor(request.vendor).plan(request, view, context)
    if plan is None:
        return None
    body = render_plan(plan)
    return RenderedFile(body, plan.content_type, hashlib.sha256(body).hexdigest())


def sealed(
    plain: RenderedFile, request: FileRequest, found: FoundDevice, box: SecretBox
) -> RenderedFile:
    """The file encrypted under the key the device got on the bench, where its vendor can
    (else as it is).

    The hash still names the configuration, not its encryption (a random salt each time), so
    the timeline tells whether the device got the file it was told.
    """
    credentials = found.access.credentials(box)
    if credentials is None:
        return plain
    body = vendor(request.vendor).seal(plain.body, credentials.config_key)
    if body is None:
        return plain
    return RenderedFile(body, "application/octet-stream", plain.sha256)
