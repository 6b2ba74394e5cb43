"""Keep key material out of git: the check behind `python -m q2ext check-keys` (a pre-commit hook)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from .deliverykey import DELIVERY_FORMAT
from .keyring import FORMAT

# Also matches a ring pasted into another file (.env, YAML, escaped JSON in JSON).
_KEY_FORMAT = re.compile(
    r'\\?"format\\?"\s*:\s*\\?"(' + "|".join(re.escape(f) for f in (FORMAT, DELIVERY_FORMAT)) + r')\\?"'
)
# ...and a secret next to it (a quoted base64 value of 32 bytes or more), so a doc that names the format passes.
_SECRET = re.compile(r'\\?"[A-Za-z0-9_\-+/]{42,}={0,2}\\?"')
KEY_DIR = ".q2ext"
READ_LIMIT = 16 * 1024 * 1024


def problem_of(path: Path) -> str | None:
    """Why this file must not be committed, or None."""
    if KEY_DIR in path.parts:
        return f"{path}: files under {KEY_DIR}/ hold keys and seen ids; they never belong in git"
    try:
        with path.open("rb") as fh:
            text = fh.read(READ_LIMIT).decode("utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return None  # deleted or a folder: nothing to commit
    found = _KEY_FORMAT.search(text)
    if found and _SECRET.search(text):
        what = "a q2ext key ring" if found.group(1) == FORMAT else "a q2ext delivery key"
        return f"{path}: holds {what} ({found.group(1)}); keep keys in .q2ext/ or your secret store, never in git"
    return None


def check(paths: Iterable[str | Path]) -> list[str]:
    """One line per file that holds key material; empty when all is well."""
    return [problem for problem in (problem_of(Path(p)) for p in paths) if problem]


def staged_files() -> list[str]:
    """The files staged for the next commit (what pre-commit would pass), or none outside git."""
    try:
        out = subprocess.run(
            ["git", "diff", "--cached", "--name-only", "--diff-filter=ACMR", "-z"],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [name for name in out.stdout.decode(errors="replace").split("\0") if name]
