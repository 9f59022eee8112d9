"""The firmware catalog: blobs stored once by content, an index that concurrent imports share."""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import firmware.catalog
from firmware.catalog import Catalog, CatalogError


def _image_file(path: Path, size: int, seed: int = 0) -> Path:
    path.write_bytes(bytes((i * 31 + seed) % 251 for i in range(size)))
    return path


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "store")


def test_import_stores_blob_by_content_and_records_metadata(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(firmware.catalog, "CHUNK", 1000)  # many chunks, same digest
    source = _image_file(tmp_path / "gxp.bin", 10_500)
    image = catalog.import_image(
        source, "grandstream", ["GXP2170", "GXP2160"], "1.0.11.79",
        hardware_revisions=["V1.5A"], min_version="1.0.9.103",
    )  # fmt: skip
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert image.sha256 == digest
    assert image.size == 10_500
    assert image.models == ("GXP2160", "GXP2170")
    assert image.filename == f"grandstream-1.0.11.79-{digest[:12]}.bin"
    assert re.fullmatch(r"[a-z0-9.-]+", image.filename)
    assert (catalog.root / "blobs" / digest).read_bytes() == source.read_bytes()
    assert catalog.list_images() == [image]
    assert catalog.show(image.id) == image
    assert Catalog(catalog.root).show(image.id) == image  # from the index file alone
    found = catalog.by_filename(image.filename)
    assert found == (image, catalog.root / "blobs" / digest)
    assert catalog.by_filename(image.filename.upper()) is None
    assert json.loads((catalog.root / "index.json").read_text())["images"][0]["id"] == image.id
    assert not [p for p in (catalog.root / "blobs").iterdir() if p.name.startswith(".")]


def test_same_bytes_share_one_blob_until_the_last_entry_goes(
    catalog: Catalog, tmp_path: Path
) -> None:
    source = _image_file(tmp_path / "kx.bin", 4096)
    first = catalog.import_image(source, "panasonic", ["KX-HDV130"], "01.133")
    second = catalog.import_image(source, "panasonic", ["KX-HDV230"], "01.133")
    blob = catalog.blob_path(first)
    assert list((catalog.root / "blobs").iterdir()) == [blob]
    assert catalog.remove(first.id) == first
    assert blob.exists()
    assert [i.id for i in catalog.list_images()] == [second.id]
    catalog.remove(second.id)
    assert not blob.exists()
    assert catalog.list_images() == []
    assert catalog.by_filename(first.filename) is None


@pytest.mark.parametrize(
    ("vendor", "models", "version", "min_version", "message"),
    [
        ("yealink", ["T46"], "1.0", None, "unknown vendor 'yealink'"),
        ("grandstream", ["GXP2170"], "1.0.x", None, "not a grandstream firmware version"),
        ("panasonic", ["KX-HDV230"], "01.133", "01.99x", "not a panasonic firmware version"),
        ("grandstream", ["GXP2170"], "1.0.9.103", "1.0.11.79", "above the image's version"),
        ("grandstream", [], "1.0.11.79", None, "at least one model"),
        ("grandstream", ["  "], "1.0.11.79", None, "bad model"),
        ("grandstream", ["GXP/2170"], "1.0.11.79", None, "bad model"),
    ],
)
def test_refusals(
    catalog: Catalog,
    tmp_path: Path,
    vendor: str,
    models: list[str],
    version: str,
    min_version: str | None,
    message: str,
) -> None:
    source = _image_file(tmp_path / "img.bin", 100)
    with pytest.raises(CatalogError, match=re.escape(message)):
        catalog.import_image(source, vendor, models, version, min_version=min_version)
    assert catalog.list_images() == []
    assert not (catalog.root / "blobs").exists() or not list((catalog.root / "blobs").iterdir())


def test_duplicate_refused_even_with_other_padding_and_model_order(
    catalog: Catalog, tmp_path: Path
) -> None:
    first = catalog.import_image(
        _image_file(tmp_path / "a.bin", 100), "panasonic", ["KX-HDV230", "KX-HDV130"], "01.133"
    )
    other_bytes = _image_file(tmp_path / "b.bin", 100, seed=7)
    with pytest.raises(CatalogError, match=f"duplicate: image {first.id}"):
        catalog.import_image(other_bytes, "panasonic", ["KX-HDV130", "KX-HDV230"], "1.133")
    assert catalog.list_images() == [first]
    assert list((catalog.root / "blobs").iterdir()) == [catalog.blob_path(first)]


def test_unknown_id_refused(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="no image 'nope'"):
        catalog.show("nope")
    with pytest.raises(CatalogError, match="no image 'nope'"):
        catalog.remove("nope")


def test_concurrent_imports_all_land_in_the_index(catalog: Catalog, tmp_path: Path) -> None:
    sources = [_image_file(tmp_path / f"{n}.bin", 2000, seed=n) for n in range(12)]
    with ThreadPoolExecutor(6) as pool:
        images = list(
            pool.map(
                lambda n: Catalog(catalog.root).import_image(
                    sources[n], "grandstream", ["GXP2170"], f"1.0.{n}.1"
                ),
                range(12),
            )
        )
    assert sorted(i.id for i in catalog.list_images()) == sorted(i.id for i in images)
    assert len(list((catalog.root / "blobs").iterdir())) == 12
