"""Programmable keys of a device (line, BLF, speed dial, park, pickup, DTMF, none) and the
tenant's feature codes (issue 15).

Without keys of its own a device shows, and gets, its model's default layout. A key past the
model (and its expansion modules) or of a kind its key cannot be is refused by name (422).
A customer reads and sets its own phones' keys (its tenant's scope); the feature codes dial the
PBX's park and pickup, which only an admin sets.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from provisioner.domain.inventory import devices, tenants
from provisioner.domain.keys import layout
from provisioner.domain.keys.layout import KeyIn
from provisioner.vendors import find_model
from provisioner.vendors.base import KeyType
from provisioner.web.api.auth import ADMIN, ANY_ROLE_AND_CUSTOMER, WAREHOUSE_AND_CUSTOMER, auth
from provisioner.web.api.context import API_PREFIX, unit_of_work
from provisioner.web.api.present import Data

bp = APIBlueprint("keys", __name__, url_prefix=API_PREFIX)
_TYPES = [kind.value for kind in KeyType]


class KeyBody(Schema):
    type = String(required=True, validate=OneOf(_TYPES))
    value = String(load_default="", validate=Length(max=32))
    label = String(load_default="", validate=Length(max=layout.LABEL_LENGTH))


class KeyOut(KeyBody):
    position = Integer()
    bank = String(metadata={"description": "the vendor's name of the key's kind"})


class KeyItem(KeyBody):
    position = Integer(required=True, validate=Range(min=1, max=1000))


class KeysIn(Schema):
    expansion_modules = Integer(load_default=0, validate=Range(min=0, max=16))
    keys = List(Nested(KeyItem), required=True)


class KeysOut(Schema):
    expansion_modules = Integer()
    positions = Integer(metadata={"description": "keys of the model and its modules"})
    default = Boolean(metadata={"description": "true: the model's default layout"})
    keys = List(Nested(KeyOut))


class FeatureCodes(Schema):
    park_code = String(required=True, validate=Length(min=1, max=8))
    pickup_code = String(required=True, validate=Length(min=1, max=8))


def _shown(mac: str) -> Data:
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        model = find_model(device.model)
        assert model is not None  # get_device found a supported device
        found = layout.device_keys(session, device.id, device.tenant_id, model)
        keys_layout = layout.layout_of(model)
        shown = []
        for key in found.keys:
            bank = keys_layout.bank_at(key.position)
            shown.append(vars(key) | {"type": key.type.value, "bank": bank[0].name if bank else ""})
        return {
            "expansion_modules": found.expansion_modules,
            "positions": keys_layout.positions(found.expansion_modules),
            "default": found.default,
            "keys": shown,
        }


@bp.get("/devices/<mac>/keys")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(KeysOut)
@bp.doc(responses=[404])
def get_keys(mac: str) -> Data:
    """The device's keys as its file gets them (its own, or its model's default layout).
    Park and pickup keys show the number they dial, with the tenant's feature code."""
    return _shown(mac)


@bp.put("/devices/<mac>/keys")
@bp.auth_required(auth, roles=WAREHOUSE_AND_CUSTOMER)
@bp.input(KeysIn)
@bp.output(KeysOut)
@bp.doc(responses=[403, 404, 409, 422])
def set_keys(mac: str, json_data: dict[str, Any]) -> Data:
    """Replace all the device's keys and its expansion module count (all or nothing)."""
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        keys = [KeyIn(**key) for key in json_data["keys"]]
        layout.set_keys(session, device, json_data["expansion_modules"], keys)
    return _shown(mac)


@bp.delete("/devices/<mac>/keys")
@bp.auth_required(auth, roles=WAREHOUSE_AND_CUSTOMER)
@bp.output(KeysOut)
@bp.doc(responses=[403, 404, 409])
def clear_keys(mac: str) -> Data:
    """Drop the device's own keys: its model's default layout applies again."""
    with unit_of_work() as session:
        layout.clear_keys(session, devices.get_device(session, mac))
    return _shown(mac)


@bp.put("/devices/<mac>/keys/<int:position>")
@bp.auth_required(auth, roles=WAREHOUSE_AND_CUSTOMER)
@bp.input(KeyBody)
@bp.output(KeysOut)
@bp.doc(responses=[403, 404, 409, 422])
def set_key(mac: str, position: int, json_data: dict[str, Any]) -> Data:
    """Set one key by position."""
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        layout.set_key(session, device, KeyIn(position=position, **json_data))
    return _shown(mac)


@bp.delete("/devices/<mac>/keys/<int:position>")
@bp.auth_required(auth, roles=WAREHOUSE_AND_CUSTOMER)
@bp.output(KeysOut)
@bp.doc(responses=[403, 404, 409])
def clear_key(mac: str, position: int) -> Data:
    """Drop one key of the device's own."""
    with unit_of_work() as session:
        layout.clear_key(session, devices.get_device(session, mac), position)
    return _shown(mac)


@bp.get("/tenants/<int:tenant_id>/feature-codes")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(FeatureCodes)
@bp.doc(responses=[404])
def get_feature_codes(tenant_id: int) -> Data:
    """The codes the tenant's park and pickup keys dial."""
    with unit_of_work() as session:
        tenant = tenants.get_tenant(session, tenant_id)
        return {"park_code": tenant.park_code, "pickup_code": tenant.pickup_code}


@bp.put("/tenants/<int:tenant_id>/feature-codes")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(FeatureCodes)
@bp.output(FeatureCodes)
@bp.doc(responses=[403, 404, 422])
def set_feature_codes(tenant_id: int, json_data: dict[str, Any]) -> Data:
    """Set the tenant's park and pickup codes; its devices' files follow."""
    with unit_of_work() as session:
        tenant = tenants.get_tenant(session, tenant_id)
        layout.set_feature_codes(session, tenant, json_data["park_code"], json_data["pickup_code"])
        return {"park_code": tenant.park_code, "pickup_code": tenant.pickup_code}
