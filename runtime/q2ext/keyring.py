"""Keys by id: load from a file or the environment, create, rotate, retire; never log a secret."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from .secretkey import Key, KeyRingError, b64 as _b64, unb64 as _unb64, write_secret as _write_secret

FORMAT = "q2ext-keyring/1"
__all__ = ["Key", "KeyRing", "KeyRingError"]  # Key and KeyRingError live in secretkey.py (no cipher code)
ENV_KEYRING = "Q2EXT_KEYRING"
log = logging.getLogger("q2ext.keys")


@dataclass(frozen=True)
class KeyRing:
    """The message keys by id, the active one, and the relay's delivery key."""

    keys: dict[str, Key]
    active_id: str
    delivery: Key
    dev: bool = False
    source: str = "memory"
    retired: tuple[str, ...] = ()  # ids never to hand out again, so an old id never names a new secret

    @property
    def active(self) -> Key:
        return self.keys[self.active_id]

    def get(self, key_id: str) -> Key | None:
        return self.keys.get(key_id)

    def to_json(self) -> dict:
        """The on-disk form (contains secrets: write it only with write_file())."""
        return {
            "format": FORMAT,
            "dev": self.dev,
            "active": self.active_id,
            "keys": {k.id: _b64(k.secret) for k in self.keys.values()},
            "delivery": {"id": self.delivery.id, "secret": _b64(self.delivery.secret)},
            "retired": list(self.retired),
            "updated": int(time.time()),
        }

    @property
    def staged(self) -> list[str]:
        """Keys added after the active one and not yet active (rotate-key --stage), oldest first."""
        return sorted((k for k in self.keys if _number(k) > _number(self.active_id)), key=_number)

    def __repr__(self) -> str:
        return f"KeyRing(ids={sorted(self.keys)}, active={self.active_id!r}, dev={self.dev}, source={self.source!r})"


def _number(key_id: str) -> int:
    return int(key_id) if key_id.isdigit() else -1


def new(dev: bool = False, first_id: str = "1") -> KeyRing:
    """A fresh ring with one random key and a random delivery key."""
    key = Key(first_id, secrets.token_bytes(32))
    return KeyRing({key.id: key}, key.id, Key("d1", secrets.token_bytes(32)), dev=dev)


def parse(data: dict, source: str) -> KeyRing:
    """Build a ring from its JSON form, with errors that name what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise KeyRingError(f"{source}: not a q2ext key ring (expected format {FORMAT!r})")
    raw_keys = data.get("keys")
    if not isinstance(raw_keys, dict) or not raw_keys:
        raise KeyRingError(f"{source}: the key ring holds no keys")
    keys = {str(kid): Key(str(kid), _unb64(secret, f"key {kid}")) for kid, secret in raw_keys.items()}
    active = str(data.get("active", ""))
    if active not in keys:
        raise KeyRingError(f"{source}: active key {active!r} is not in the ring")
    delivery = data.get("delivery") or {}
    if "secret" not in delivery:
        raise KeyRingError(f"{source}: the key ring has no delivery key")
    dkey = Key(str(delivery.get("id", "d1")), _unb64(delivery["secret"], "delivery key"))
    retired = tuple(str(kid) for kid in data.get("retired") or () if str(kid) not in keys)
    return KeyRing(keys, active, dkey, dev=bool(data.get("dev", False)), source=source, retired=retired)


def read_file(path: str | os.PathLike) -> KeyRing:
    """Load a ring from a JSON file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeyRingError(f"no key ring at {path}: run `make keys` to create one") from None
    except json.JSONDecodeError as exc:
        raise KeyRingError(f"{path}: not valid JSON (line {exc.lineno})") from None
    return parse(data, f"file {path}")


def write_file(ring: KeyRing, path: str | os.PathLike) -> Path:
    """Write the ring (all its secrets)."""
    return _write_secret(ring.to_json(), path)


def stage(ring: KeyRing) -> KeyRing:
    """Add a new key without making it active: every process learns it before anyone seals with it."""
    used = [_number(k) for k in (*ring.keys, *ring.retired)]
    key = Key(str(max([0, *used]) + 1), secrets.token_bytes(32))
    return dataclasses.replace(ring, keys={**ring.keys, key.id: key})


def rotate(ring: KeyRing) -> KeyRing:
    """Make the newest staged key active (adding one if none is staged); older keys still open messages."""
    if not ring.staged:
        ring = stage(ring)
    return dataclasses.replace(ring, active_id=ring.staged[-1])


def retire(ring: KeyRing, key_id: str) -> KeyRing:
    """Remove one key for good; the active key cannot be retired (rotate first)."""
    if key_id not in ring.keys:
        raise KeyRingError(f"key {key_id!r} is not in the ring (ids: {', '.join(sorted(ring.keys))})")
    if key_id == ring.active_id:
        raise KeyRingError(f"key {key_id!r} is the active key: run `make rotate-key` first")
    keys = {k: v for k, v in ring.keys.items() if k != key_id}
    return dataclasses.replace(ring, keys=keys, retired=(*ring.retired, key_id))


def load_for(settings, environ: dict[str, str] | None = None) -> KeyRing:
    """The ring this process must use: environment, then file, then (DEBUG only) the dev ring."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_KEYRING):
        try:
            data = json.loads(environ[ENV_KEYRING])
        except json.JSONDecodeError:
            raise KeyRingError(f"environment variable {ENV_KEYRING} is not valid JSON") from None
        ring = parse(data, f"environment variable {ENV_KEYRING}")
    elif Path(settings.KEYRING_FILE).exists():
        ring = read_file(settings.KEYRING_FILE)
    elif settings.DEBUG:
        ring = _dev_ring(Path(settings.DEV_KEYRING_FILE))
    else:
        raise KeyRingError(
            f"no key ring: DEBUG is off, so a real key ring is required. Run `make keys` "
            f"(writes {settings.KEYRING_FILE}), or set {ENV_KEYRING} or Q2EXT_KEYRING_FILE"
        )
    if ring.dev and not settings.DEBUG:
        raise KeyRingError(f"{ring.source} is a development key ring; out of DEBUG run `make keys` for a real one")
    return ring


def _dev_ring(path: Path) -> KeyRing:
    """The development ring: created on first run, ignored by git, allowed only in DEBUG."""
    if not path.exists():
        write_file(new(dev=True, first_id="0"), path)
        log.warning("created a DEVELOPMENT key ring at %s (DEBUG only, never use it in production)", path)
    return read_file(path)


class RingReloader:
    """A handler's view of its ring file: re-read when a message names a key id it does not know yet.

    So a rotation needs no restart and survives the wrong order: a handler learns key N+1 from the file
    (looked at at most once per check_every_s, re-read only when its inode, mtime or size changed), and
    until grace_s after the start or the last reload an unknown key id is answered as retryable (503),
    not as permanent (401, a dead letter): the file may reach this host a little after the pushers.
    """

    def __init__(
        self,
        path: str | os.PathLike | None,
        grace_s: float = 600.0,
        load=None,
        check_every_s: float = 1.0,
        clock=time.monotonic,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.grace_s = grace_s
        self.check_every_s = check_every_s
        self.clock = clock
        self._load = load or (lambda: read_file(self.path))
        self._stamp = self._stat()
        self._checked = clock() - check_every_s
        self._changed_at = clock()

    @classmethod
    def for_ring(cls, ring: KeyRing, settings) -> RingReloader:
        """The reloader of a ring load_for() returned: its file, or none (environment: restart to change it)."""
        path = ring.source[len("file ") :] if ring.source.startswith("file ") else None

        def load() -> KeyRing:
            fresh = read_file(path)
            if fresh.dev and not settings.DEBUG:
                raise KeyRingError(f"{fresh.source} is now a development key ring; out of DEBUG it is refused")
            return fresh

        return cls(path, settings.UNKNOWN_KEY_GRACE_SECONDS, load)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path) if self.path is not None else None
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size) if st is not None else None

    def refresh(self) -> KeyRing | None:
        """The ring as the file holds it now, if the file changed since it was last read; else None."""
        now = self.clock()
        if self.path is None or now - self._checked < self.check_every_s:
            return None
        self._checked = now
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp  # said once per change of the file, good or bad
        try:
            ring = self._load()
        except KeyRingError as exc:  # e.g. a hand edit half saved: keep the ring we have until the file changes
            log.warning("key ring %s changed but cannot be used (%s); keeping the one loaded", self.path, exc)
            return None
        self._changed_at = now
        log.info("key ring %s reloaded: key ids %s, active %s", self.path, ", ".join(sorted(ring.keys)), ring.active_id)
        return ring

    def in_grace(self) -> bool:
        """True while an unknown key id may still arrive in this host's ring (answer 503, not 401)."""
        return self.clock() - self._changed_at < self.grace_s
