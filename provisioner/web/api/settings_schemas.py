"""Request and response shapes of the settings and raw-parameter routes (issue 15)."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, List, Nested, String
from apiflask.validators import Length

from provisioner.domain.settings.values import Level

_LEVELS = ", ".join(level.value for level in Level)


class ValueIn(Schema):
    value = String(required=True, validate=Length(min=1, max=500))


class EffectiveOut(Schema):
    name = String()
    value = String(allow_none=True)
    source = String(metadata={"description": f"where the value comes from: {_LEVELS}"})
    written = Boolean(metadata={"description": "false: the model cannot take it, or unset"})
    note = String(allow_none=True, metadata={"description": "why it is not written"})


class RawOut(Schema):
    name = String()
    value = String()
    source = String(metadata={"description": "device, or tenant (for the device's model)"})


class DeviceSettingsOut(Schema):
    settings = List(Nested(EffectiveOut))
    raw = List(Nested(RawOut))


class SettingOut(Schema):
    name = String()
    kind = String()
    description = String()
    choices = List(String())
    default = String(allow_none=True)


class LevelValuesOut(Schema):
    settings = List(Nested(RawOut))
