"""A content-addressed store of firmware images: each blob once, metadata in one JSON index.

Images are tens of megabytes and devices fetch them over TFTP and HTTP at once, so blobs are
hashed while they are copied and never read whole into memory. The index is replaced
atomically and rewritten under a lock, so a CLI import never races a removal or another import
and a reader (the front doors) never sees half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from firmware.versions import parse_version

CHUNK = 1 << 20
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")  # models and hardware revisions


class CatalogError(ValueError):
    """An import or removal the catalog refuses; the message says why."""


class ImageJson(TypedDict):
    """One entry of ``index.json`` as ``asdict(Image)`` writes it (JSON has lists, no tuples)."""

    id: str
    vendor: str
    version: str
    models: list[str]
    hardware_revisions: list[str]
    min_version: str | None
    sha256: str
    size: int
    imported_at: str


@dataclass(frozen=True)
class Image:
    """One catalog entry: a blob (by sha256) for a vendor's models at one version."""

    id: str
    vendor: str
    version: str
    models: tuple[str, ...]
    hardware_revisions: tuple[str, ...]
    min_version: str | None
    sha256: str
    size: int
    imported_at: str

    @property
    def filename(self) -> str:
        """What devices ask for: only [a-z0-9.-], and unique per content, vendor and version."""
        return f"{self.vendor}-{self.version}-{self.sha256[:12]}.bin"

    @classmethod
    def from_json(cls, data: ImageJson) -> Image:
        return cls(
            id=data["id"],
            vendor=data["vendor"],
            version=data["version"],
            models=tuple(data["models"]),
            hardware_revisions=tuple(data["hardware_revisions"]),
            min_version=data["min_version"],
            sha256=data["sha256"],
            size=data["size"],
            imported_at=data["imported_at"],
        )


def _names(kind: str, values: Iterable[str]) -> tuple[str, ...]:
    """Sorted and de-duplicated, so the same set always compares (and is stored) the same."""
    names = tuple(sorted({value.strip() for value in values}))
    for name in names:
        if not _NAME.fullmatch(name):
            raise CatalogError(f"bad {kind} {name!r}: letters, digits and . _ + - only")
    return names


class Catalog:
    """The store under one directory: ``blobs/<sha256>`` and ``index.json``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()  # the HTTP front door must not resolve it elsewhere
        self._cache: tuple[tuple[int, int, int], dict[str, Image]] | None = None

    @property
    def _index(self) -> Path:
        return self.root / "index.json"

    def blob_path(self, image: Image) -> Path:
        return self.root / "blobs" / image.sha256

    def list_images(self) -> list[Image]:
        """No lock needed: the index is only ever replaced whole."""
        try:
            text = self._index.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [Image.from_json(entry) for entry in json.loads(text)["images"]]

    def show(self, image_id: str) -> Image:
        for image in self.list_images():
            if image.id == image_id:
                return image
        raise CatalogError(f"no image {image_id!r} in {self.root}")

    def by_filename(self, name: str) -> tuple[Image, Path] | None:
        """For the front doors: an exact match on ``Image.filename``, re-read only on change."""
        try:
            stat = self._index.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cache = self._cache
        if cache is None or cache[0] != key:
            cache = (key, {image.filename: image for image in self.list_images()})
            self._cache = cache
        image = cache[1].get(name)
        return None if image is None else (image, self.blob_path(image))

    def by_path(self, path: str) -> tuple[Image, Path] | None:
        """``<file name>`` or ``<file name without .bin>/<any name>``: a device that appends
        its own image name to a server path (Grandstream) gets a directory per image."""
        directory, slash, _ = path.partition("/")
        if not slash:
            return self.by_filename(path)
        if "/" in path[len(directory) + 1 :]:
            return None
        return self.by_filename(f"{directory}.bin")

    def import_image(
        self,
        path: str | os.PathLike[str],
        vendor: str,
        models: Iterable[str],
        version: str,
        hardware_revisions: Iterable[str] = (),
        min_version: str | None = None,
    ) -> Image:
        """Copy the file in (hashing as it goes) and record it; the blob is shared by content."""
        try:
            parsed = parse_version(vendor, version)
            floor = None if min_version is None else parse_version(vendor, min_version)
        except ValueError as exc:
            raise CatalogError(str(exc)) from exc
        if floor is not None and floor > parsed:
            raise CatalogError(f"min version {min_version} is above the image's version {version}")
        model_names = _names("model", models)
        if not model_names:
            raise CatalogError("at least one model is needed")
        revisions = _names("hardware revision", hardware_revisions)
        blobs = self.root / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        digest, size, staged = self._stage(Path(path), blobs)
        try:
            with self._locked():
                images = self.list_images()
                for other in images:
                    if (
                        other.vendor == vendor
                        and parse_version(vendor, other.version) == parsed
                        and other.models == model_names
                    ):
                        raise CatalogError(
                            f"duplicate: image {other.id} is already {vendor} {other.version} "
                            f"for {', '.join(model_names)}"
                        )
                image = Image(
                    id=secrets.token_hex(6),
                    vendor=vendor,
                    version=version,
                    models=model_names,
                    hardware_revisions=revisions,
                    min_version=min_version,
                    sha256=digest,
                    size=size,
                    imported_at=datetime.now(UTC).isoformat(timespec="seconds"),
                )
                blob = blobs / digest
                if not blob.exists():
                    os.replace(staged, blob)
                self._write([*images, image])
        finally:
            staged.unlink(missing_ok=True)
        return image

    def remove(self, image_id: str) -> Image:
        """Drop the entry; the blob goes only when no other entry uses the same bytes."""
        with self._locked():
            images = self.list_images()
            image = next((entry for entry in images if entry.id == image_id), None)
            if image is None:
                raise CatalogError(f"no image {image_id!r} in {self.root}")
            rest = [entry for entry in images if entry.id != image_id]
            self._write(rest)
            if all(entry.sha256 != image.sha256 for entry in rest):
                self.blob_path(image).unlink(missing_ok=True)
        return image

    @staticmethod
    def _stage(source: Path, blobs: Path) -> tuple[str, int, Path]:
        """Copy in chunks beside the blobs (same file system, so the rename is atomic)."""
        digest = hashlib.sha256()
        size = 0
        with (
            source.open("rb") as src,
            tempfile.NamedTemporaryFile(dir=blobs, prefix=".import-", delete=False) as dst,
        ):
            staged = Path(dst.name)
            try:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            except BaseException:
                staged.unlink(missing_ok=True)
                raise
        os.chmod(staged, 0o644)  # served to anyone: firmware carries no secrets
        return digest.hexdigest(), size, staged

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "index.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, images: list[Image]) -> None:
        """Temp file, fsync, rename: a reader sees the old index or the new one, never half."""
        body = json.dumps({"images": [asdict(image) for image in images]}, indent=2) + "\n"
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=self.root, prefix=".index-", delete=False
        ) as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.chmod(handle.name, 0o644)
            os.replace(handle.name, self._index)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
