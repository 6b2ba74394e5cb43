"""Key lifecycle: rotate without losing messages, retire, sources, and no development ring in production."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from q2ext import deliverykey, envelope, keyring, server
from q2ext.keyring import KeyRingError
from q2ext.services import Services
from q2ext.settings import Settings

from .conftest import FIXTURE_PROJECT, RUNTIME, make_services, secrets_of, serve_in_thread, settings_for


def restart_with(running, ring, tmp_path):
    """Stop a server and start it again with another ring and the same seen-id store."""
    running.stop()
    return serve_in_thread(make_services(settings_for(tmp_path), ring))


def test_messages_sealed_before_a_rotation_are_still_handled_after_it(start, ring, tmp_path):
    first = start()
    before = [envelope.seal(f"before {i}", "Lowercase", ring.active) for i in range(5)]
    assert [first.deliver(s)[0] for s in before[:2]] == [200, 200]
    rotated = keyring.rotate(ring)
    second = restart_with(first, rotated, tmp_path)
    try:
        after = [envelope.seal(f"after {i}", "Lowercase", rotated.active) for i in range(3)]
        statuses = [second.deliver(s)[0] for s in before[2:] + after]
    finally:
        second.stop()
    assert statuses == [200] * 6
    assert {s.headers["q2msg-cryptokey"] for s in after} == {"2"}
    assert [m.text for m in second.services.handled] == [
        "before 2",
        "before 3",
        "before 4",
        "after 0",
        "after 1",
        "after 2",
    ]


def test_message_under_a_retired_key_is_refused_as_unknown_key_with_401(start, ring):
    old = envelope.seal("sealed with key 1", "Lowercase", ring.active)
    retired = keyring.retire(keyring.rotate(ring), "1")
    status, answer = start(retired).deliver(old)
    assert (status, answer["error"]) == (401, "unknown key '1'")


def test_staged_key_opens_messages_but_is_not_used_to_seal(ring):
    staged = keyring.stage(ring)
    assert (staged.active_id, staged.staged) == ("1", ["2"])
    other_process = keyring.rotate(staged)
    message = envelope.seal("from an upgraded process", "Lowercase", other_process.active)
    assert envelope.open(message.headers, message.body, staged).text == "from an upgraded process"


def test_rotate_activates_the_staged_key_instead_of_adding_another(ring):
    staged = keyring.stage(ring)
    rotated = keyring.rotate(staged)
    assert (rotated.active_id, sorted(rotated.keys)) == ("2", ["1", "2"])
    assert rotated.keys["2"].secret == staged.keys["2"].secret


def test_a_retired_key_id_is_never_given_to_a_new_key(ring, tmp_path):
    two = keyring.rotate(keyring.rotate(ring))  # ids 1, 2, 3; active 3
    keyring.write_file(keyring.retire(keyring.retire(two, "1"), "2"), tmp_path / "ring.json")
    reread = keyring.read_file(tmp_path / "ring.json")
    assert keyring.rotate(reread).active_id == "4"


def test_the_active_key_cannot_be_retired(ring):
    with pytest.raises(KeyRingError, match="is the active key: run `make rotate-key` first"):
        keyring.retire(ring, ring.active_id)


def test_keys_from_the_environment_win_over_the_file(ring, tmp_path):
    keyring.write_file(keyring.new(), tmp_path / "ring.json")
    cfg = Settings(DEBUG=False, KEYRING_FILE=str(tmp_path / "ring.json"))
    loaded = keyring.load_for(cfg, {keyring.ENV_KEYRING: json.dumps(ring.to_json())})
    assert loaded.source == "environment variable Q2EXT_KEYRING"
    assert loaded.active.secret == ring.active.secret


def test_keys_from_a_file_name_the_file(ring, tmp_path):
    keyring.write_file(ring, tmp_path / "mounted-secret.json")
    loaded = keyring.load_for(Settings(DEBUG=False, KEYRING_FILE=str(tmp_path / "mounted-secret.json")), {})
    assert loaded.source == f"file {tmp_path / 'mounted-secret.json'}"


def test_server_names_the_source_of_its_keys_but_never_the_keys(ring, caplog):
    caplog.set_level(logging.INFO)
    services = Services(
        settings=Settings(DEBUG=False), ring=keyring.parse(ring.to_json(), "file /run/secrets/ring"), seen=None
    )
    server.announce(services, 8080)
    assert "message keys from file /run/secrets/ring (ids 1, active 1)" in caplog.text
    assert not [s for s in secrets_of(ring) if s in caplog.text]


def test_development_ring_is_refused_out_of_debug(tmp_path):
    keyring.write_file(keyring.new(dev=True, first_id="0"), tmp_path / "dev.json")
    with pytest.raises(KeyRingError, match="is a development key ring; out of DEBUG run `make keys`"):
        keyring.load_for(Settings(DEBUG=False, KEYRING_FILE=str(tmp_path / "dev.json")), {})


def test_development_delivery_key_is_refused_out_of_debug(tmp_path):
    deliverykey.write_delivery_file(keyring.new(dev=True), tmp_path / "delivery.json")
    cfg = Settings(DEBUG=False, DELIVERY_KEY_FILE=str(tmp_path / "delivery.json"))
    with pytest.raises(KeyRingError, match="is a development key; out of DEBUG"):
        deliverykey.load_delivery_for(cfg, {})


def test_no_ring_out_of_debug_is_refused_even_if_a_dev_ring_exists(tmp_path):
    cfg = Settings(DEBUG=False, KEYRING_FILE=str(tmp_path / "none.json"), DEV_KEYRING_FILE=str(tmp_path / "dev.json"))
    keyring.write_file(keyring.new(dev=True, first_id="0"), tmp_path / "dev.json")
    with pytest.raises(KeyRingError, match="DEBUG is off, so a real key ring is required"):
        keyring.load_for(cfg, {})


def q2ext_refuses(command: str, **env: str) -> list[str]:
    """Run `python -m q2ext <command>` out of DEBUG in the fixture project; it must fail: its stderr lines."""
    done = subprocess.run(
        [sys.executable, "-m", "q2ext", command],
        cwd=FIXTURE_PROJECT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(RUNTIME), "Q2EXT_DEBUG": "0", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    return done.stderr.strip().splitlines()


def test_server_refuses_to_start_with_the_development_ring_out_of_debug(tmp_path):
    ring_file = tmp_path / "dev.json"
    keyring.write_file(keyring.new(dev=True, first_id="0"), ring_file)
    assert q2ext_refuses("run", Q2EXT_KEYRING_FILE=str(ring_file), Q2EXT_SEEN_IDS_FILE=":memory:") == [
        f"error: file {ring_file} is a development key ring; out of DEBUG run `make keys` for a real one"
    ]


def test_relay_refuses_to_start_with_a_development_delivery_key_out_of_debug(tmp_path):
    key_file = tmp_path / "delivery.json"
    deliverykey.write_delivery_file(keyring.new(dev=True), key_file)
    assert q2ext_refuses("relay", Q2EXT_DELIVERY_KEY_FILE=str(key_file)) == [
        f"error: file {key_file} is a development key; out of DEBUG run `make keys` for a real one"
    ]
