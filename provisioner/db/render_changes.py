"""Which devices' rendered files a unit of work may change, recorded with the revision bump.

Rendered files are cached per worker (``domain.delivery.render_cache``). A cache that has seen
revision R asks :func:`changed_since` for the subjects whose row moved past R and drops only
their files, so a staging batch or an import costs the devices it touched, not every cached
file of every worker. What a row can change:

- a device, or a row that names one (``device_id``: its lines, a firmware hold): that device;
- an account, new or changed: its tenant's devices (their default keys watch and label every
  extension of the tenant, so one rename or one new extension changes all their files);
- a tenant, or a row of one tenant (``tenant_id``: a representative number): its devices;
- any other rendered row (a rollout for everyone, a model of another module): every file.

A new device is named too: its MAC may be remembered as unknown (the pipeline caches unknown
MACs so that they cost what known ones do), and that memory must go when the device arrives.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from provisioner.db.models import (
    RENDERED_MODELS,
    Account,
    Device,
    InventoryRevision,
    RenderChange,
    Tenant,
)

EVERYTHING = "*"
_CHUNK = 500  # rows per upsert statement


def subjects(connection: Connection, new: Iterable[object], changed: Iterable[object]) -> set[str]:
    """The MACs (or ``EVERYTHING``) whose files these flushed objects may change: ``changed``
    are the dirty rows with a change of their own (not only a collection) and the deleted."""
    found: set[str] = set()
    devices: set[int] = set()
    tenants: set[int] = set()
    created = set(new)
    for obj in (*created, *changed):
        if not isinstance(obj, RENDERED_MODELS):
            continue
        if isinstance(obj, Device):
            found.add(obj.mac)
        elif isinstance(device := getattr(obj, "device", None), Device):
            if device not in created:  # a new device's line: nobody has its file
                found.add(device.mac)
        elif isinstance(obj, Account):
            if obj.tenant_id is None and obj.tenant is not None:
                tenants.add(obj.tenant.id)
            tenants.add(obj.tenant_id)
        elif isinstance(obj, Tenant):
            tenants.add(obj.id)
        elif (device_id := getattr(obj, "device_id", None)) is not None:
            devices.add(device_id)
        elif (tenant_id := getattr(obj, "tenant_id", None)) is not None:
            tenants.add(tenant_id)
        else:
            return {EVERYTHING}
    tenants.discard(None)
    queries = []
    if devices:
        queries.append(select(Device.mac).where(Device.id.in_(devices)))
    if tenants:
        queries.append(select(Device.mac).where(Device.tenant_id.in_(tenants)))
    for query in queries:
        found.update(connection.execute(query).scalars())
    return found


def bump(connection: Connection) -> int:
    """Move the inventory revision by one; the new value (the row is locked until commit, so
    transactions that bump commit in revision order)."""
    statement = (
        update(InventoryRevision)
        .values(value=InventoryRevision.value + 1)
        .returning(InventoryRevision.value)
    )
    return connection.execute(statement).scalar_one()


def record(connection: Connection, revision: int, changed: set[str]) -> None:
    """Mark ``changed`` as changed at ``revision`` (one upsert per chunk of subjects)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    rows = [{"subject": subject, "revision": revision} for subject in sorted(changed)]
    for start in range(0, len(rows), _CHUNK):
        statement = dialect.insert(RenderChange).values(rows[start : start + _CHUNK])
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[RenderChange.subject], set_={"revision": revision}
            )
        )


def current_revision(connection: Connection) -> int:
    return connection.execute(select(InventoryRevision.value)).scalar_one()


def changed_since(connection: Connection, seen: int | None) -> tuple[int, frozenset[str]]:
    """The current revision and the subjects changed after ``seen`` (``EVERYTHING`` among
    them when every file may have changed, or when nothing was seen yet)."""
    current = current_revision(connection)
    if seen is None:
        return current, frozenset({EVERYTHING})
    if current == seen:
        return current, frozenset()
    rows = select(RenderChange.subject).where(RenderChange.revision > seen)
    return current, frozenset(connection.execute(rows).scalars())
