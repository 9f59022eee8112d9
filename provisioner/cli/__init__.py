"""The ``provisioner`` command line (docs/architecture.md, 'Interfaces'): the main group and
its commands, one module per command group."""

from __future__ import annotations

import click

from provisioner.cli.backup import backup, restore
from provisioner.cli.context import ProvisionerGroup, service_options
from provisioner.cli.db import db
from provisioner.cli.device import device, render
from provisioner.cli.firmware import firmware
from provisioner.cli.fleet import fleet
from provisioner.cli.gateway import gateway
from provisioner.cli.history import audit_command
from provisioner.cli.licence import licence
from provisioner.cli.orders import order
from provisioner.cli.pbx import pbx
from provisioner.cli.phonebook import keys, phonebook
from provisioner.cli.poe import poe
from provisioner.cli.resync import notify
from provisioner.cli.secrets import secrets
from provisioner.cli.serve import serve
from provisioner.cli.sheet import import_command
from provisioner.cli.staff import staff
from provisioner.cli.tokens import token


@click.group(cls=ProvisionerGroup)
@service_options
def main() -> None:
    """Zero-touch provisioning for Grandstream and Panasonic SIP devices."""


main.add_command(serve)
main.add_command(import_command)
main.add_command(render)
main.add_command(device)
main.add_command(db)
main.add_command(firmware)
main.add_command(notify)
main.add_command(token)
main.add_command(staff)
main.add_command(poe)
main.add_command(gateway)
main.add_command(licence)
main.add_command(pbx)
main.add_command(order)
main.add_command(backup)
main.add_command(restore)
main.add_command(secrets)
main.add_command(fleet)
main.add_command(phonebook)
main.add_command(keys)
main.add_command(audit_command)
