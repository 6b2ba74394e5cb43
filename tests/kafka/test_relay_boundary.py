"""The relay holds only the delivery key, by construction: what a running relay has imported proves it.

A child process imports q2ext.relay, runs a Relay against the broker until it delivered a sealed message to a
real handler and answered /metrics and /health, then reports sys.modules: no Tornado, no code that opens
an envelope or holds message keys, no handler, seen-id or services module, no user extension.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import textwrap

from kafka_helpers import RUNTIME, push_all, wait_for, write_extension

from q2ext import broker as broker_mod
from q2ext.deliverykey import DELIVERY_FORMAT

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from q2ext.relay import Relay, RelayConfig
    from q2ext.secretkey import Key

    bootstrap, message_type, url, secret, port = sys.argv[1:6]

    async def get(path):
        reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
        writer.write(f"GET {path} HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n".encode())
        status = (await reader.readline()).split()[1]
        await reader.read()
        writer.close()
        return int(status)

    async def main():
        config = RelayConfig(bootstrap, {message_type: url}, group="boundary", session_timeout_ms=2000,
                             metrics_port=int(port))
        relay, stop = Relay(config, Key("d1", bytes.fromhex(secret))), asyncio.Event()
        running = asyncio.ensure_future(relay.run(stop))
        for _ in range(1200):  # 60 s
            if relay.stats.counts()[0]:
                break
            await asyncio.sleep(0.05)
        statuses = [await get("/metrics"), await get("/health")]
        stop.set()
        await running
        print(json.dumps({"delivered": relay.stats.counts()[0], "statuses": statuses, "modules": sorted(sys.modules)}))

    asyncio.run(main())
    """
)
FORBIDDEN = (
    "tornado",
    "q2ext.envelope",
    "q2ext.keyring",
    "q2ext.handlers",
    "q2ext.dedup",
    "q2ext.services",
    "q2ext.server",
    "q2ext.bus",
    "q2ext.bus_lane",
    "cryptography.hazmat.primitives.ciphers",
    "q2_sdk",
)


def forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


def test_a_running_relay_has_no_tornado_envelope_key_ring_handler_or_extension_code(broker, ring, handler, tmp_path):
    push_all(broker.bootstrap, ring, handler.type, ["across the boundary"])
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            broker.bootstrap,
            handler.type,
            handler.url,
            ring.delivery.secret.hex(),
            str(broker_mod.free_port()),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(RUNTIME)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout.splitlines()[-1])
    assert report["delivered"] == 1 and report["statuses"] == [200, 200]
    assert forbidden(report["modules"]) == []
    assert not [m for m in report["modules"] if m.split(".")[0] == handler.type]  # no extension package either


def test_the_forbidden_list_catches_what_a_handler_process_imports():
    assert forbidden(["tornado.web", "q2ext.envelope", "q2ext.handlers.message_bus", "q2ext.relay"]) == [
        "tornado.web",
        "q2ext.envelope",
        "q2ext.handlers.message_bus",
    ]


def write_project(root, message_type: str) -> None:
    """A project whose one installed extension consumes message_type (the relay discovers it, never imports it)."""
    (root / "configuration").mkdir()
    (root / "configuration" / "settings.py").write_text('INSTALLED_EXTENSIONS = ["BoundaryExt"]\n')
    write_extension(root, "BoundaryExt", message_type)


def test_the_relay_command_discovers_its_types_without_importing_extension_or_key_code(broker, ring, handler, tmp_path):
    write_project(tmp_path, handler.type)
    push_all(broker.bootstrap, ring, handler.type, ["through the command"])
    env = {
        **os.environ,
        "PYTHONPATH": str(RUNTIME),
        "Q2EXT_DEBUG": "0",
        "Q2EXT_DELIVERY_KEY": json.dumps({"format": DELIVERY_FORMAT, "id": ring.delivery.id, "secret": b64(ring)}),
    }
    target = f"http://127.0.0.1:{handler.port}"
    argv = ["--kafka", broker.bootstrap, "--target", target, "--metrics-port", "0", "--session-timeout-ms", "2000"]
    imports = tmp_path / "imports.log"
    with imports.open("wb") as err:
        relay = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "q2ext", "relay", *argv], cwd=tmp_path, env=env, stderr=err
        )
        try:
            wait_for(lambda: handler.calls, "the relay to deliver the message")
        finally:
            relay.send_signal(signal.SIGTERM)
            relay.wait(60)
    lines = imports.read_text(errors="replace").splitlines()
    modules = [line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:") and "|" in line]
    assert "q2ext.relay" in modules
    assert forbidden(modules) == []
    assert "BoundaryExt" not in modules and "q2ext.keyring" not in modules


def b64(ring) -> str:
    return base64.urlsafe_b64encode(ring.delivery.secret).decode()
