"""Spent Digest nonces: refused once per instance, however many worker processes it has.

Two ``SpentNonces`` on one file are two workers of one ``serve`` (each maps the file and takes
its lock, as a process would); a store on another file is another instance.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from provisioner.domain.delivery.digest import SpentNonces, create_store

NOW = 1_000_000.0
LIVES = NOW + 300


def test_a_pair_spent_by_one_worker_is_refused_by_every_worker_of_the_instance(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spent.table"
    create_store(path)
    first, second = SpentNonces(path), SpentNonces(path)
    assert first.spend("nonce-a", "00000001", LIVES, NOW)
    assert not second.spend("nonce-a", "00000001", LIVES, NOW)
    assert not first.spend("nonce-a", "00000001", LIVES, NOW)
    assert second.spend("nonce-a", "00000002", LIVES, NOW)  # the next nc is a new request
    other_instance = tmp_path / "other.table"
    create_store(other_instance)
    assert SpentNonces(other_instance).spend("nonce-a", "00000001", LIVES, NOW)


def _spend_all(path: Path, count: int) -> int:
    spent = SpentNonces(path)
    return sum(spent.spend(f"nonce-{i}", "00000001", LIVES, NOW) for i in range(count))


def test_workers_racing_for_the_same_pairs_accept_each_once(tmp_path: Path) -> None:
    path = tmp_path / "spent.table"
    create_store(path)
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        accepted = pool.starmap(_spend_all, [(path, 2000)] * 3)
    assert sum(accepted) == 2000


def test_an_expired_pair_is_forgotten_and_its_slot_reused(tmp_path: Path) -> None:
    spent = SpentNonces(slots=4)
    assert spent.spend("old", "00000001", NOW - 1, NOW - 301)
    assert not spent.spend("old", "00000001", NOW - 1, NOW - 2)  # still alive then
    for index in range(4):  # four live pairs fit: the expired one's slot is taken again
        assert spent.spend(f"young-{index}", "00000001", LIVES, NOW)
    assert not any(spent.spend(f"young-{i}", "00000001", LIVES, NOW) for i in range(4))


def test_a_full_window_forgets_the_pair_that_expires_first() -> None:
    spent = SpentNonces(slots=2)
    assert spent.spend("soon", "00000001", NOW + 10, NOW)
    assert spent.spend("late", "00000001", LIVES, NOW)
    assert spent.spend("third", "00000001", LIVES + 5, NOW)  # evicts "soon"
    assert spent.spend("soon", "00000001", NOW + 10, NOW)  # documented: replayable once more
    assert not spent.spend("third", "00000001", LIVES + 5, NOW)  # "late" went this time
    assert spent.spend("late", "00000001", LIVES, NOW)


def test_a_file_of_another_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spent.table"
    create_store(path, slots=8)
    with pytest.raises(ValueError, match="not a spent-nonce table"):
        SpentNonces(path, slots=16)


def test_without_a_file_the_store_is_the_process_memory() -> None:
    one, two = SpentNonces(slots=64), SpentNonces(slots=64)
    assert one.spend("n", "00000001", LIVES, NOW)
    assert not one.spend("n", "00000001", LIVES, NOW)
    assert two.spend("n", "00000001", LIVES, NOW)
