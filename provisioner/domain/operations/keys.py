"""Rotating the service key: every stored secret re-encrypted under a new one.

Secrets are re-encrypted in batches, each its own transaction: a fetch waits for one batch at
most. While the rotation runs, a row holds a token under either key; Fernet's MultiFernet reads
both. A row already under the new key is left as it is, so a rotation killed halfway is finished
by running it again with the same two keys. Afterwards nothing decrypts under the old key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Table, bindparam, select, update

from provisioner.db.gateways import GatewayProfile, IssuerKey
from provisioner.db.models import Account, Device
from provisioner.db.poe import PoeSwitch
from provisioner.db.session import Database
from provisioner.domain.errors import Invalid
from provisioner.secretbox import SecretBox, SecretKeyError

BATCH = 500

# Every column that holds a SecretBox token, by table (docs/security.md, 'Secrets at rest').
SECRET_COLUMNS: tuple[tuple[type, tuple[str, ...]], ...] = (
    (Account, ("sip_password_encrypted",)),
    (Device, ("admin_password_encrypted", "http_password_encrypted", "config_key_encrypted")),
    (PoeSwitch, ("community_encrypted", "v3_auth_key_encrypted", "v3_priv_key_encrypted")),
    (IssuerKey, ("private_key_encrypted",)),
    (GatewayProfile, ("trunk_password_encrypted",)),
)


@dataclass
class Rotation:
    rewritten: int = 0  # tokens re-encrypted by this run
    already: int = 0  # tokens a previous, interrupted run had done


def rotate_key(
    db: Database,
    old: SecretBox,
    new_key: str,
    batch: int = BATCH,
    after_batch: Callable[[Rotation], None] = lambda _r: None,
) -> Rotation:
    """Re-encrypt every secret from ``old``'s key to ``new_key``; resumable (module doc)."""
    new = SecretBox(new_key)  # SecretKeyError for a malformed key
    if old.fingerprints() == new.fingerprints():
        raise Invalid("the new key is the only key in use: nothing to rotate")
    if len(new.readers) != 1:
        raise Invalid("give one new key")
    new_only = new.readers[0]
    both = MultiFernet([new_only, *old.readers])
    done = Rotation()
    for model, names in SECRET_COLUMNS:
        table: Table = model.__table__  # type: ignore[attr-defined]
        (key,) = table.primary_key.columns  # one integer key each (a profile's is its device's)
        for name in names:
            _rotate_column(db, key, table.c[name], new_only, both, batch, done, after_batch)
    return done


def _rotate_column(
    db: Database,
    key_column: Column[int],
    column: Column[str],
    new_only: Fernet,
    both: MultiFernet,
    batch: int,
    done: Rotation,
    after_batch: Callable[[Rotation], None],
) -> None:
    """Walk the table by primary key in batches; each batch commits on its own."""
    last = 0
    while True:
        with db.engine.begin() as connection:
            rows = connection.execute(
                select(key_column, column)
                .where(key_column > last, column.is_not(None))
                .order_by(key_column)
                .limit(batch)
            ).all()
            if not rows:
                return
            changes = []
            for ident, token in rows:
                raw = token.encode("ascii")
                try:
                    new_only.decrypt(raw)
                    done.already += 1
                    continue
                except InvalidToken:
                    pass
                try:
                    changes.append({"ident": ident, "token": both.rotate(raw).decode("ascii")})
                except InvalidToken as exc:
                    raise SecretKeyError(
                        f"{column.table.name}.{column.name} of row {ident} decrypts under "
                        "neither key: the configured key is not the one in use"
                    ) from exc
            if changes:
                table = column.table
                connection.execute(
                    update(table)
                    .where(key_column == bindparam("ident"))
                    .values({column.name: bindparam("token")}),
                    changes,
                )
                done.rewritten += len(changes)
            last = rows[-1][0]
        after_batch(done)


def check_key(db: Database, box: SecretBox) -> None:
    """Refuse a key that opens nothing here (the old one after a rotation, another
    installation's) when a process starts, not with a 500 on every fetch."""
    with db.engine.connect() as connection:
        token = connection.execute(select(Device.admin_password_encrypted).limit(1)).scalar()
    if token is not None:
        box.decrypt(token)  # SecretKeyError says which setting is wrong


def undecryptable(db: Database, box: SecretBox) -> int:
    """How many stored secrets ``box``'s key does not open (0 for the key in use)."""
    count = 0
    with db.engine.connect() as connection:
        for model, names in SECRET_COLUMNS:
            table: Table = model.__table__  # type: ignore[attr-defined]
            for name in names:
                tokens = connection.execute(
                    select(table.c[name]).where(table.c[name].is_not(None))
                ).scalars()
                for token in tokens:
                    try:
                        MultiFernet(box.readers).decrypt(token.encode("ascii"))
                    except InvalidToken:
                        count += 1
    return count
