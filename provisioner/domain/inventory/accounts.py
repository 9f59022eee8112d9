"""SIP accounts ("IDs"): the rules for extensions and display names, and generated credentials.

The provisioning sheet and the admin API both build accounts with :func:`new_account`, so both
get the same username scheme and password strength.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import Account, Device, DeviceLine, Tenant
from provisioner.domain.errors import Conflict, Invalid, get_by_id
from provisioner.domain.inventory import tenants
from provisioner.domain.inventory.patterns import INVISIBLE, UNWRITABLE, phone_number
from provisioner.domain.inventory.representatives import over_limit
from provisioner.secretbox import SecretBox, generate_secret
from provisioner.vendors import UNWRITABLE_CHARACTERS, refuse_unwritable_text
from provisioner.vendors.base import RenderError

EXTENSION_PATTERN = r"[0-9]{4}"
# What every vendor's file can hold (checked in full by refuse_unwritable_text), and visible.
DISPLAY_NAME_PATTERN = rf"[^{UNWRITABLE_CHARACTERS}{UNWRITABLE}{INVISIBLE}]+"
DISPLAY_NAME_LENGTH = 100
SIP_PASSWORD_LENGTH = 20
_USERNAME_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def check_extension(extension: str) -> str:
    if not re.fullmatch(EXTENSION_PATTERN, extension):
        raise Invalid(f"extension {extension!r} must be 4 digits")
    return extension


def check_display_name(name: str) -> str:
    if not name or len(name) > DISPLAY_NAME_LENGTH:
        raise Invalid(f"display_name must be 1 to {DISPLAY_NAME_LENGTH} characters")
    try:
        refuse_unwritable_text("display_name", name)
    except RenderError as exc:
        raise Invalid(str(exc)) from exc
    if not re.fullmatch(DISPLAY_NAME_PATTERN, name):
        raise Invalid("display_name must not hold bidi overrides or zero-width characters")
    return name


def new_sip_username(taken: set[str]) -> str:
    """A SIP username that is never a phone number and says nothing about the tenant."""
    while True:
        name = "u" + generate_secret(11, _USERNAME_ALPHABET)
        if name not in taken:
            taken.add(name)
            return name


def new_account(
    box: SecretBox,
    tenant: Tenant,
    extension: str,
    direct_number: str | None,
    display_name: str,
    sip_username: str,
) -> Account:
    """An account with a freshly generated SIP password, encrypted at rest."""
    return Account(
        tenant=tenant,
        extension=extension,
        direct_number=direct_number,
        display_name=display_name,
        sip_username=sip_username,
        sip_password_encrypted=box.encrypt(generate_secret(SIP_PASSWORD_LENGTH)),
    )


def list_accounts(session: Session, tenant: Tenant) -> list[Account]:
    return list(
        session.scalars(
            select(Account).where(Account.tenant_id == tenant.id).order_by(Account.extension)
        )
    )


def get_account(session: Session, account_id: int) -> Account:
    return get_by_id(session, Account, account_id, "account")


def create_account(
    session: Session,
    box: SecretBox,
    tenant: Tenant,
    *,
    extension: str,
    direct_number: str,
    display_name: str,
) -> Account:
    """``direct_number`` may be empty: an extension-only account."""
    number = phone_number(direct_number, "direct_number")
    reason = tenants.refusal(tenant, direct_number=number)
    if reason:
        raise Conflict(reason)
    _check_extension_free(session, tenant, check_extension(extension))
    _check_number_free(session, number)
    account = new_account(
        box, tenant, extension, number, check_display_name(display_name), _free_username(session)
    )
    session.add(account)
    session.flush()
    return account


def update_account(
    session: Session,
    account: Account,
    *,
    extension: str | None = None,
    direct_number: str | None = None,
    display_name: str | None = None,
) -> Account:
    """Change what is given; None leaves a field as it is, an empty direct number removes it."""
    if extension is not None and extension != account.extension:
        _check_extension_free(session, account.tenant, check_extension(extension))
        account.extension = extension
    if direct_number is not None:
        number = phone_number(direct_number, "direct_number")
        if number and number != account.direct_number:
            reason = tenants.refusal(account.tenant, direct_number=number)
            if reason:
                raise Conflict(reason)
            _check_number_free(session, number)
        account.direct_number = number
    if display_name is not None:
        account.display_name = check_display_name(display_name)
    session.flush()
    return account


def delete_account(session: Session, account: Account) -> None:
    """Delete an account no device line uses, if the tenant's numbers still fit without it."""
    on_lines = session.execute(
        select(Device.mac, DeviceLine.port)
        .join(DeviceLine, DeviceLine.device_id == Device.id)
        .where(DeviceLine.account_id == account.id)
        .order_by(Device.mac, DeviceLine.port)
    ).all()
    if on_lines:
        where = ", ".join(f"{mac} port {port}" for mac, port in on_lines)
        raise Conflict(f"extension {account.extension} is on {where}: clear those lines first")
    tenant = account.tenant
    reason = over_limit(tenant.name, len(tenant.representative_numbers), len(tenant.accounts) - 1)
    if reason:
        raise Conflict(
            f"without extension {account.extension}, {reason}: remove a representative number first"
        )
    session.delete(account)
    session.flush()


def _check_extension_free(session: Session, tenant: Tenant, extension: str) -> None:
    taken = session.scalar(
        select(Account.id).where(Account.tenant_id == tenant.id, Account.extension == extension)
    )
    if taken is not None:
        raise Conflict(f"extension {extension} of {tenant.name} exists already (account {taken})")


def _check_number_free(session: Session, number: str | None) -> None:
    if number is None:
        return
    holder = session.scalar(select(Account.id).where(Account.direct_number == number))
    if holder is not None:
        raise Conflict(f"direct number {number} belongs to account {holder} already")


def _free_username(session: Session) -> str:
    while True:
        name = new_sip_username(set())
        if session.scalar(select(Account.id).where(Account.sip_username == name)) is None:
            return name
