"""A tenant's phonebook over the API: the CSV import (all rows or none) and what phones get.
A customer imports and reads its own tenant's."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema, abort
from apiflask.fields import Integer, List, Nested, String
from flask import request

from provisioner.domain.inventory import tenants
from provisioner.domain.phonebook.book import PhonebookError, entries_for, import_phonebook
from provisioner.web.api.auth import ADMIN_AND_CUSTOMER, ANY_ROLE_AND_CUSTOMER, auth
from provisioner.web.api.context import API_PREFIX, unit_of_work
from provisioner.web.api.present import Data

bp = APIBlueprint("phonebook", __name__, url_prefix=API_PREFIX)
PHONEBOOK_PATH = "/tenants/{tenant_id}/phonebook"
SHEET_BODY = {
    "required": True,
    "description": "UTF-8 CSV with the header name,reading,group,office,mobile,home.",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


class PhonebookNumberOut(Schema):
    kind = String()
    number = String()


class PhonebookEntryOut(Schema):
    name = String()
    reading = String()
    group = String()
    numbers = List(Nested(PhonebookNumberOut))


class PhonebookImportedOut(Schema):
    tenant = String()
    entries = Integer()


@bp.put("/tenants/<int:tenant_id>/phonebook")
@bp.auth_required(auth, roles=ADMIN_AND_CUSTOMER)
@bp.output(PhonebookImportedOut)
@bp.doc(responses=[403, 404, 413, 422])
def put_phonebook(tenant_id: int) -> Data:
    """Replace the tenant's phonebook with a CSV sheet (body): every row or none; 422 names
    each bad row by its line."""
    data = request.get_data(cache=False)
    try:
        with unit_of_work() as session:
            report = import_phonebook(session, tenants.get_tenant(session, tenant_id), data)
    except PhonebookError as error:
        abort(422, "nothing was written; fix the sheet and send it whole again",
              extra_data={"rows": error.errors})  # fmt: skip
    return {"tenant": report.tenant, "entries": report.entries}


@bp.get("/tenants/<int:tenant_id>/phonebook")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(PhonebookEntryOut(many=True))
@bp.doc(responses=[404])
def get_phonebook(tenant_id: int) -> list[Data]:
    """The phonebook as the tenant's phones get it: its entries and extensions, by reading."""
    with unit_of_work() as session:
        tenant = tenants.get_tenant(session, tenant_id)
        return [
            {"name": e.name, "reading": e.reading, "group": e.group,
             "numbers": [{"kind": k, "number": n} for k, n in e.numbers]}
            for e in entries_for(session, tenant.id)
        ]  # fmt: skip
