"""What the project configured (configuration/settings.py), with Q2EXT_* environment overrides."""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

ENV_PREFIX = "Q2EXT_"
EMPTY_IS_ZERO = frozenset({"METRICS_PORT"})  # Q2EXT_METRICS_PORT= (empty) turns it off


@dataclass(frozen=True)
class Settings:
    """One immutable view of the configuration; build it with load()."""

    DEBUG: bool = True
    PORT: int = 1980
    LOG_LEVEL: str = "INFO"
    ENV_STACK: str = "LOCAL-DEV"
    BUS: str = "auto"
    KAFKA_BOOTSTRAP_SERVERS: str = "127.0.0.1:9092"
    KAFKA_CLIENT_OPTIONS: dict[str, Any] = field(default_factory=dict)
    KEYRING_FILE: str = ".q2ext/keyring.json"
    DEV_KEYRING_FILE: str = ".q2ext/keyring.dev.json"
    DELIVERY_KEY_FILE: str = ".q2ext/delivery-key.json"
    MAX_MESSAGE_BYTES: int = 1024 * 1024
    MAX_BODY_BYTES: int = 8 * 1024 * 1024
    MAX_MESSAGE_AGE_SECONDS: int = 7 * 24 * 3600
    MAX_FUTURE_SKEW_SECONDS: int = 300
    DELIVERY_TOLERANCE_SECONDS: int = 300
    SEEN_IDS_FILE: str = ".q2ext/seen-ids.sqlite3"
    SEEN_IDS_MAX: int = 1_000_000
    SEEN_IDS_URL: str = ""  # postgresql://... : one seen-id store shared by every handler host (docs/deploy.md)
    SEEN_IDS_LEASE_SECONDS: int = 10  # a crashed handler's claims block redeliveries this long
    UNKNOWN_KEY_GRACE_SECONDS: int = 600  # an unknown key id is retryable (503) this long after start or reload
    PUSH_TIMEOUT_SECONDS: float = 10.0
    HTTP_IDLE_TIMEOUT_SECONDS: int = 60  # a request's headers must arrive within this (also the keep-alive idle time)
    HTTP_BODY_TIMEOUT_SECONDS: int = 60  # ... and its body within this after them
    MAX_CONNECTIONS: int = 10_000  # open HTTP connections at most (lowered to fit the open-file limit)
    MAX_JSON_BODY_BYTES: int = 1024 * 1024  # Adapter and Caliper endpoints refuse larger JSON bodies (413)
    HOST: str = "localhost"
    METRICS_HOST: str = "127.0.0.1"
    METRICS_PORT: int = 1982  # out of DEBUG /metrics is served here only; 0 (or empty) = no /metrics
    INSTALLED_EXTENSIONS: tuple[str, ...] = ()
    CONSOLE_EVENTS: int = 1000  # the DEBUG bus console keeps this many recent events in memory
    CONSOLE_RELAY_URL: str = "http://127.0.0.1:1981"  # where the console reads the relay's /metrics (Kafka bus)

    @property
    def bus_mode(self) -> str:
        """'loopback' in DEBUG unless BUS says otherwise; 'kafka' out of DEBUG."""
        if self.BUS != "auto":
            return self.BUS
        return "loopback" if self.DEBUG else "kafka"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (tests and the CLI use it)."""
        return dataclasses.replace(self, **changes)


def _coerce(name: str, raw: str, current: Any) -> Any:
    """Turn an environment string into the type the setting already has."""
    if isinstance(current, bool):
        if raw.strip().lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.strip().lower() in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"{ENV_PREFIX}{name}={raw!r} is not a boolean (use 1 or 0)")
    if isinstance(current, int):
        if name in EMPTY_IS_ZERO and not raw.strip():
            return 0
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name}={raw!r} is not a whole number") from None
    if isinstance(current, dict):
        value = json.loads(raw)
        if not isinstance(value, dict):
            raise ValueError(f"{ENV_PREFIX}{name} must be a JSON object")
        return value
    if isinstance(current, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def load(module: str = "configuration.settings", environ: dict[str, str] | None = None) -> Settings:
    """Read the project's settings module, then apply Q2EXT_<NAME> environment overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name not in {module, module.split(".")[0]}:
            raise
        mod = None
    names = {f.name for f in dataclasses.fields(Settings)}
    for name in names:
        if mod is not None and hasattr(mod, name):
            value = getattr(mod, name)
            values[name] = tuple(value) if isinstance(value, list) else value
            if name in EMPTY_IS_ZERO and value in ("", None):
                values[name] = 0
    base = Settings(**values)
    for name in names:
        raw = environ.get(ENV_PREFIX + name)
        if raw is not None:
            values[name] = _coerce(name, raw, getattr(base, name))
    return Settings(**values)


_current: Settings | None = None


def get() -> Settings:
    """The process-wide settings, loaded once."""
    global _current
    if _current is None:
        _current = load()
    return _current


def use(settings: Settings) -> Settings:
    """Make these the process-wide settings (the server and tests call it)."""
    global _current
    _current = settings
    return settings
