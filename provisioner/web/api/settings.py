"""Settings with inheritance and raw vendor parameters (issue 15).

A setting is set for a tenant, a model or a device; a device's effective value is the most
specific one, and ``GET /devices/{mac}/settings`` names where each comes from. Raw vendor
parameters are for experts (admin only), per device or per tenant and model; a name the vendor
catalogue of that model lacks, or one the service owns, is refused by name (422).

A customer reads its own phones' and tenant's settings and sets the user-facing ones
(``CUSTOMER_SETTINGS``) for its tenant or one phone; it neither reads nor sets raw parameters.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from provisioner.domain.inventory import devices, tenants
from provisioner.domain.inventory.lookup import provisioning_context
from provisioner.domain.settings import values
from provisioner.vendors.settings import CUSTOMER_SETTINGS, SETTINGS
from provisioner.web.api.auth import (
    ADMIN,
    ADMIN_AND_CUSTOMER,
    ANY_ROLE,
    ANY_ROLE_AND_CUSTOMER,
    WAREHOUSE_AND_CUSTOMER,
    auth,
    customer_may_set,
    is_customer,
)
from provisioner.web.api.context import API_PREFIX, provisioner, unit_of_work
from provisioner.web.api.present import Data
from provisioner.web.api.settings_schemas import (
    DeviceSettingsOut,
    LevelValuesOut,
    SettingOut,
    ValueIn,
)

bp = APIBlueprint("settings", __name__, url_prefix=API_PREFIX)


def _device_settings(mac: str) -> Data:
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        ctx = provisioning_context(provisioner().settings)
        shown = values.effective_view(session, device, ctx)
        raw = [] if is_customer() else values.raw_for(session, device.id, device.tenant_id,
                                                      device.model)  # fmt: skip
        return {
            "settings": [vars(s) | {"source": s.source.value} for s in shown],
            "raw": [{"name": n, "value": v, "source": lvl.value} for n, v, lvl in raw],
        }


def _listed(scope_values: dict[str, str]) -> Data:
    return {"settings": [{"name": n, "value": v, "source": ""} for n, v in scope_values.items()]}


@bp.get("/settings")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(SettingOut(many=True))
def list_settings() -> list[Data]:
    """The settings catalogue: each setting's values and service default."""
    return [vars(s) | {"kind": s.kind.value, "choices": list(s.choices)} for s in SETTINGS.values()]


@bp.get("/devices/<mac>/settings")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(DeviceSettingsOut)
@bp.doc(responses=[404, 409])
def get_device_settings(mac: str) -> Data:
    """Every setting as the device gets it, where it comes from (default, tenant, model or
    device), and the raw parameters in effect."""
    return _device_settings(mac)


@bp.put("/devices/<mac>/settings/<setting>")
@bp.auth_required(auth, roles=WAREHOUSE_AND_CUSTOMER)
@bp.input(ValueIn)
@bp.output(DeviceSettingsOut)
@bp.doc(responses=[403, 404, 422])
def set_device_setting(mac: str, setting: str, json_data: dict[str, Any]) -> Data:
    """Set a setting for this device only (a value its model cannot take is refused)."""
    customer_may_set({setting: json_data["value"]}, CUSTOMER_SETTINGS)
    with unit_of_work() as session:
        device = devices.get_device(session, mac)
        values.set_value(session, values.device_scope(device), setting, json_data["value"])
    return _device_settings(mac)


@bp.delete("/devices/<mac>/settings/<setting>")
@bp.auth_required(auth, roles=WAREHOUSE_AND_CUSTOMER)
@bp.output(DeviceSettingsOut)
@bp.doc(responses=[403, 404, 409, 422])
def clear_device_setting(mac: str, setting: str) -> Data:
    """Drop the device's own value: its model's, tenant's or the default applies again."""
    customer_may_set({setting: None}, CUSTOMER_SETTINGS)
    with unit_of_work() as session:
        values.clear_value(session, values.device_scope(devices.get_device(session, mac)), setting)
    return _device_settings(mac)


@bp.get("/tenants/<int:tenant_id>/settings")
@bp.auth_required(auth, roles=ANY_ROLE_AND_CUSTOMER)
@bp.output(LevelValuesOut)
@bp.doc(responses=[404])
def get_tenant_settings(tenant_id: int) -> Data:
    """The values set for the tenant (its devices' default)."""
    with unit_of_work() as session:
        scope = values.tenant_scope(tenants.get_tenant(session, tenant_id))
        return _listed(values.values_at(session, scope))


@bp.put("/tenants/<int:tenant_id>/settings/<setting>")
@bp.auth_required(auth, roles=ADMIN_AND_CUSTOMER)
@bp.input(ValueIn)
@bp.output(LevelValuesOut)
@bp.doc(responses=[403, 404, 422])
def set_tenant_setting(tenant_id: int, setting: str, json_data: dict[str, Any]) -> Data:
    """Set a setting for all the tenant's devices (models that cannot take it keep theirs)."""
    customer_may_set({setting: json_data["value"]}, CUSTOMER_SETTINGS)
    with unit_of_work() as session:
        scope = values.tenant_scope(tenants.get_tenant(session, tenant_id))
        values.set_value(session, scope, setting, json_data["value"])
        return _listed(values.values_at(session, scope))


@bp.delete("/tenants/<int:tenant_id>/settings/<setting>")
@bp.auth_required(auth, roles=ADMIN_AND_CUSTOMER)
@bp.output(LevelValuesOut)
@bp.doc(responses=[403, 404, 422])
def clear_tenant_setting(tenant_id: int, setting: str) -> Data:
    customer_may_set({setting: None}, CUSTOMER_SETTINGS)
    with unit_of_work() as session:
        scope = values.tenant_scope(tenants.get_tenant(session, tenant_id))
        values.clear_value(session, scope, setting)
        return _listed(values.values_at(session, scope))


@bp.get("/models/<model>/settings")
@bp.auth_required(auth, roles=ANY_ROLE)
@bp.output(LevelValuesOut)
@bp.doc(responses=[404])
def get_model_settings(model: str) -> Data:
    """The values set for every device of this model."""
    with unit_of_work() as session:
        scope = values.model_scope(values.model_named(model))
        return _listed(values.values_at(session, scope))


@bp.put("/models/<model>/settings/<setting>")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(ValueIn)
@bp.output(LevelValuesOut)
@bp.doc(responses=[403, 404, 422])
def set_model_setting(model: str, setting: str, json_data: dict[str, Any]) -> Data:
    """Set a setting for every device of this model (over its tenant's value)."""
    with unit_of_work() as session:
        scope = values.model_scope(values.model_named(model))
        values.set_value(session, scope, setting, json_data["value"])
        return _listed(values.values_at(session, scope))


@bp.delete("/models/<model>/settings/<setting>")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(LevelValuesOut)
@bp.doc(responses=[403, 404, 422])
def clear_model_setting(model: str, setting: str) -> Data:
    with unit_of_work() as session:
        scope = values.model_scope(values.model_named(model))
        values.clear_value(session, scope, setting)
        return _listed(values.values_at(session, scope))


@bp.put("/devices/<mac>/raw/<param>")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(ValueIn)
@bp.output(DeviceSettingsOut)
@bp.doc(responses=[403, 404, 422])
def set_device_raw(mac: str, param: str, json_data: dict[str, Any]) -> Data:
    """Set a vendor parameter by its own name on this device (experts; refused by name when
    the model's vendor catalogue lacks it or the service owns it)."""
    with unit_of_work() as session:
        scope = values.device_scope(devices.get_device(session, mac))
        values.set_raw(session, scope, param, json_data["value"])
    return _device_settings(mac)


@bp.delete("/devices/<mac>/raw/<param>")
@bp.auth_required(auth, roles=ADMIN)
@bp.output(DeviceSettingsOut)
@bp.doc(responses=[403, 404, 409])
def clear_device_raw(mac: str, param: str) -> Data:
    with unit_of_work() as session:
        values.clear_raw(session, values.device_scope(devices.get_device(session, mac)), param)
    return _device_settings(mac)


def _tenant_model_scope(session: Any, tenant_id: int, model: str) -> values.Scope:
    tenant = tenants.get_tenant(session, tenant_id)
    return values.Scope(
        values.Level.TENANT, tenant_id=tenant.id, model=values.model_named(model).model
    )


@bp.put("/tenants/<int:tenant_id>/raw/<model>/<param>")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(ValueIn)
@bp.output(LevelValuesOut)
@bp.doc(responses=[403, 404, 422])
def set_tenant_raw(tenant_id: int, model: str, param: str, json_data: dict[str, Any]) -> Data:
    """Set a vendor parameter on all the tenant's devices of one model (experts)."""
    with unit_of_work() as session:
        values.set_raw(session, _tenant_model_scope(session, tenant_id, model), param,
                       json_data["value"])  # fmt: skip
        return {"settings": [{"name": param, "value": json_data["value"], "source": "tenant"}]}


@bp.delete("/tenants/<int:tenant_id>/raw/<model>/<param>")
@bp.auth_required(auth, roles=ADMIN)
@bp.doc(responses=[403, 404])
@bp.output({}, status_code=204)
def clear_tenant_raw(tenant_id: int, model: str, param: str) -> None:
    with unit_of_work() as session:
        values.clear_raw(session, _tenant_model_scope(session, tenant_id, model), param)
