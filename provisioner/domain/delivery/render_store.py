"""Rendered device files kept in the database for every worker and instance, sealed.

Each HTTP worker keeps the files it rendered in memory (:mod:`.render_cache`), but a worker
that has not served a device yet, a restarted instance or a second one would render it again:
after a power cut the first fetch of every phone costs its device's rows, its secrets
decrypted and its template, once per worker. Here a render is kept once: a worker that misses
its memory reads the stored file (one query and a decryption) before it renders.

A stored file is current while no ``render_changes`` row of its device (or ``"*"``) is newer
than the inventory revision read before the device was; the read checks that in the same
query, so a change reaches every worker and instance as soon as it is committed, and a
render that raced a change is never served after it. A file also names the server (its URL,
the PBX cores) and is made by code and templates a deploy may change: each render is stored
under a hash of those too, so a restart with other settings or code renders again.

Bodies carry SIP passwords: they are compressed and encrypted with AES-GCM under a key derived
from the service key, bound to their variant (the row's key is the associated data), so a row
moved to another device's key does not open. After a key rotation the old rows do not open
either, and are rendered again.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lz4.block import LZ4BlockError
from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from provisioner.db.models import RenderChange, StoredRender
from provisioner.db.render_changes import EVERYTHING
from provisioner.db.session import Database
from provisioner.domain.delivery.render_cache import RenderedFile, unpack
from provisioner.rendering import templates_dir
from provisioner.secretbox import SecretBox
from provisioner.vendors.base import ProvisioningContext

_NONCE_BYTES = 12

_newer_change = (
    select(RenderChange.revision)
    .where(
        RenderChange.subject.in_([StoredRender.mac, EVERYTHING]),
        RenderChange.revision > StoredRender.revision,
    )
    .exists()
)
_CURRENT = select(StoredRender.sealed, StoredRender.content_type, StoredRender.sha256).where(
    StoredRender.key == bindparam("key"), ~_newer_change
)


class RenderStore:
    def __init__(self, db: Database, box: SecretBox, context: ProvisioningContext) -> None:
        """``context``: the server's settings the files name (its URL, the PBX cores): a
        restart with other settings, or other code, must not serve what the old one made."""
        self._db = db
        self._aead = AESGCM(box.derive_key("stored-renders"))
        self._context = context

    @functools.cached_property
    def renderer(self) -> str:
        """The settings, code and templates the files are made by, as one hash (read once per
        process, when the store is first used: a CLI command that renders nothing pays
        nothing)."""
        digest = hashlib.sha256(repr(self._context).encode("utf-8"))
        package = Path(__file__).resolve().parents[2]
        for root, pattern in ((package, "*.py"), (templates_dir(), "*")):
            for path in sorted(root.rglob(pattern)):
                if path.is_file() and "__pycache__" not in path.parts:
                    digest.update(str(path.relative_to(root)).encode("utf-8") + b"\0")
                    digest.update(path.read_bytes())
        return digest.hexdigest()

    def get(self, variant: Hashable) -> tuple[RenderedFile, bytes] | None:
        """The stored file of this variant if it is still current, and its body compressed
        (``render_cache.pack``), else None."""
        name = self._name(variant)
        sql, parameters = self._current
        connection = self._db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, parameters(name))
            row = cursor.fetchone()
            cursor.close()
        finally:
            connection.close()
        if row is None:
            return None
        sealed, content_type, sha256 = row
        try:
            packed = self._open(bytes(sealed), name)
            body = unpack(packed)
        except (InvalidTag, ValueError, LZ4BlockError):
            return None  # sealed under an earlier service key: rendered again
        return RenderedFile(body, content_type, sha256), packed

    @functools.cached_property
    def _current(self) -> tuple[str, Callable[[str], Sequence[object] | dict[str, object]]]:
        """The read, compiled once for this database, and its parameters for a key. It runs
        on the DBAPI connection: for a worker's first fetch of a device, Core's execution and
        result machinery cost three times the query itself (26 against 100 us per read)."""
        compiled = _CURRENT.compile(dialect=self._db.engine.dialect)
        values = compiled.construct_params({"key": ""})
        order = compiled.positiontup
        if not order:  # named parameters (psycopg's pyformat)
            return compiled.string, lambda name: {**values, "key": name}
        template, at = [values[each] for each in order], order.index("key")

        def positional(name: str) -> Sequence[object]:
            each = list(template)
            each[at] = name
            return each

        return compiled.string, positional

    def put(
        self, variant: Hashable, mac: str, revision: int, rendered: RenderedFile, packed: bytes
    ) -> None:
        """Keep ``rendered`` (``packed``: its body compressed), made of the device's rows read
        after ``revision`` was; a newer stored render of the variant wins. The device's rows
        no longer current, or made by other settings or code, go."""
        name = self._name(variant)
        row = {
            "key": name,
            "mac": mac,
            "renderer": self.renderer,
            "revision": revision,
            "content_type": rendered.content_type,
            "sha256": rendered.sha256,
            "sealed": self._seal(packed, name),
        }
        with self._db.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(StoredRender).values(row)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[StoredRender.key],
                    set_={
                        column: getattr(statement.excluded, column)
                        for column in (
                            "mac",
                            "renderer",
                            "revision",
                            "content_type",
                            "sha256",
                            "sealed",
                        )
                    },
                    where=StoredRender.revision <= statement.excluded.revision,
                )
            )
        # Apart, so that a transaction never waits for one row while holding another: two
        # workers storing two variants of one device at once cannot deadlock.
        with self._db.engine.begin() as connection:
            latest = select(func.max(RenderChange.revision)).where(
                RenderChange.subject.in_([mac, EVERYTHING])
            )
            connection.execute(
                delete(StoredRender).where(
                    StoredRender.mac == mac,
                    StoredRender.key != name,
                    or_(
                        StoredRender.revision < latest.scalar_subquery(),
                        StoredRender.renderer != self.renderer,
                    ),
                )
            )

    def _name(self, variant: Hashable) -> str:
        """The stored key of a variant tuple (its repr is stable: strings, enums, a frozen
        dataclass and None) made by this renderer, hashed to a fixed width."""
        return hashlib.sha256(f"{self.renderer}:{variant!r}".encode()).hexdigest()

    def _seal(self, packed: bytes, name: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, packed, name.encode("ascii"))

    def _open(self, sealed: bytes, name: str) -> bytes:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, name.encode("ascii"))
