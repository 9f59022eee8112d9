"""Spent Digest nonces: refused once per instance, however many worker processes it has.

Two ``SpentNonces`` on one file are two workers of one ``serve`` (each opens its own SQLite
connection, as a process would); a store on another file is another instance.
"""

from __future__ import annotations

from pathlib import Path

from provisioner.domain.delivery.digest import SpentNonces, create_store

NOW = 1_000_000.0
LIVES = NOW + 300


def test_a_pair_spent_by_one_worker_is_refused_by_every_worker_of_the_instance(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spent.sqlite"
    create_store(path)
    first, second = SpentNonces(path), SpentNonces(path)
    assert first.spend("nonce-a", "00000001", LIVES, NOW)
    assert not second.spend("nonce-a", "00000001", LIVES, NOW)
    assert not first.spend("nonce-a", "00000001", LIVES, NOW)
    assert second.spend("nonce-a", "00000002", LIVES, NOW)  # the next nc is a new request
    other_instance = tmp_path / "other.sqlite"
    create_store(other_instance)
    assert SpentNonces(other_instance).spend("nonce-a", "00000001", LIVES, NOW)


def test_expired_pairs_are_forgotten(tmp_path: Path) -> None:
    spent = SpentNonces(purge_every=2)
    assert spent.spend("old", "00000001", NOW - 1, NOW - 301)
    assert spent.spend("young", "00000001", LIVES, NOW)  # the second spend purges
    assert len(spent) == 1
    assert not spent.spend("young", "00000001", LIVES, NOW)


def test_without_a_file_the_store_is_the_process_memory() -> None:
    one, two = SpentNonces(), SpentNonces()
    assert one.spend("n", "00000001", LIVES, NOW)
    assert not one.spend("n", "00000001", LIVES, NOW)
    assert two.spend("n", "00000001", LIVES, NOW)
