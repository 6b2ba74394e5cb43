"""docs/architecture.md names every module of the runtime, so a new maintainer finds each one's job there."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "runtime" / "q2ext"
DOC = (ROOT / "docs" / "architecture.md").read_text()


def _named(path: Path) -> bool:
    """A module is named by its file name, or its path inside the package, or its folder (`handlers/`)."""
    rel = path.relative_to(PACKAGE)
    folders = [f"`{'/'.join(rel.parts[: i + 1])}/`" for i in range(len(rel.parts) - 1)]
    return any(name in DOC for name in (f"`{rel.name}`", f"`{rel.as_posix()}`", *folders))


def test_architecture_doc_names_every_runtime_module():
    modules = [p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")]

    missing = [p.relative_to(PACKAGE).as_posix() for p in modules if not _named(p)]

    assert not missing, f"docs/architecture.md does not name: {', '.join(sorted(missing))}"
