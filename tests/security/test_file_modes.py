"""Files that hold what an attacker on the same host could use are private to their owner from the start."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

import pytest

from q2ext import keyring
from q2ext.dedup import SqliteSeenIds


@pytest.fixture
def common_umask() -> Iterator[None]:
    """The usual umask 022, under which a file is world-readable unless created otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_seen_id_store_and_its_wal_are_created_mode_0600(tmp_path, common_umask):
    path = tmp_path / ".q2ext" / "seen-ids.sqlite3"
    store = SqliteSeenIds(path)
    try:
        store.claim("some-id")
        assert mode(path) == 0o600
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or mode(wal) == 0o600
    finally:
        store.close()


def test_the_key_ring_file_is_created_mode_0600_in_a_private_folder(tmp_path, common_umask):
    path = tmp_path / ".q2ext" / "keyring.json"
    keyring.write_file(keyring.new(), path)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
