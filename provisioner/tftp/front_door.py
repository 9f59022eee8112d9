"""The TFTP front door: a file name from a device, resolved by the firmware catalog or the
delivery pipeline.

TFTP has no User-Agent, no credentials and no status codes: the pipeline decides, and this
only maps its outcome onto what TFTP can say (a file, "not found", "access violation").
"""

from __future__ import annotations

from firmware.catalog import Catalog
from provisioner.domain.delivery.pipeline import Fetch, Outcome, Provisioner
from provisioner.tftp.server import FilePayload, Payload, Resolver, TftpAccessDenied


def tftp_resolver(provisioner: Provisioner, catalog: Catalog) -> Resolver:
    """The resolver the TFTP server calls for each read request.

    Firmware images (``firmware/<name>`` or a bare catalog file name) are streamed from the
    catalog's blobs before any config is looked up: they carry no secrets and no MAC.
    """

    def resolve(filename: str, client_ip: str) -> bytes | Payload | None:
        found = catalog.by_path(filename.removeprefix("firmware/"))
        if found is not None:
            return FilePayload(found[1])
        delivery = provisioner.deliver(Fetch(path=filename, protocol="tftp", source=client_ip))
        if delivery.outcome is Outcome.SERVED:
            return delivery.body
        if delivery.outcome is Outcome.FORBIDDEN:
            raise TftpAccessDenied("access violation")
        if delivery.outcome is Outcome.FAILED:
            raise RuntimeError(delivery.reason)
        return None  # 401, 404, 429: "file not found", whatever the reason

    return resolve
