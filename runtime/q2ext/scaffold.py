"""Add an extension to a project: render its package from skeletons/ (one skeleton, blocks per kind), register it.

Everything is rendered in memory first, so a refused name, kind or option writes nothing.
"""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2

from . import kinds
from .kinds import Kind

TEMPLATES = Path(__file__).with_name("skeletons")
SETTINGS_FILE = Path("configuration") / "settings.py"
LIST_START = "INSTALLED_EXTENSIONS = ["
LIST_END = "]"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # renders Python source and Tornado templates, never HTML for a browser
)


@dataclass(frozen=True)
class Plan:
    """What add_extension will write: files relative to the project, and the new settings text."""

    name: str
    kind: Kind
    files: dict[str, str]
    settings_text: str


def render_files(name: str, kind: Kind, message_type: str | None, options: dict[str, str]) -> dict[str, str]:
    """The extension package's files (path inside <project>/<name>/ -> text) for this kind and its answers."""
    adapter = kinds.find_adapter_type(options["adapter_type"]) if "adapter_type" in options else None
    context = {
        "name": name,
        "kind": kind,
        "message_type": message_type or "",
        "options": options,
        "unauthenticated": options.get("unauthenticated") == "yes",
        "adapter": adapter,
    }
    files = {}
    for target in kind.files:
        path = target.replace("<name>", name.lower())
        source = "tests/test.py" if target.startswith("tests/test_") else target
        template = _env.select_template([f"kinds/{kind.key}/{source}.j2", f"skeleton/{source}.j2"])
        files[path] = template.render(context)
    return files


def installed(settings_text: str) -> tuple[list[str], int, int]:
    """The names in INSTALLED_EXTENSIONS, and the line numbers of its opening and closing lines."""
    lines = settings_text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == LIST_START)
        end = next(i for i in range(start + 1, len(lines)) if lines[i] == LIST_END)
    except StopIteration:
        raise ValueError(
            f"{SETTINGS_FILE} must list extensions as a line `{LIST_START}`, one name per line, and a line `{LIST_END}`"
        ) from None
    names = [line.strip().strip(",").strip("\"'") for line in lines[start + 1 : end]]
    return [n for n in names if n and not n.startswith("#")], start, end


def message_types(project_dir: Path, names: list[str]) -> dict[str, str]:
    """The MESSAGE_TYPE each installed extension's handler consumes, read from its extension.py (not imported)."""
    consumed: dict[str, str] = {}
    for extension in names:
        source = project_dir / extension / "extension.py"
        try:
            tree = ast.parse(source.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue  # a missing or broken extension is the server's to report, with its own line
        for node in ast.walk(tree):
            assigns_type = isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == "MESSAGE_TYPE" for t in node.targets
            )
            if assigns_type and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                consumed.setdefault(node.value.value, extension)
    return consumed


def refuse_consumed(project_dir: Path, names: list[str], message_type: str) -> None:
    """ValueError if an installed extension already consumes this type (or one differing only in case)."""
    for existing, extension in message_types(project_dir, names).items():
        if existing.casefold() == message_type.casefold():
            raise ValueError(
                f"{extension} already consumes {existing!r} messages: one type has one handler, so "
                f"a second one would never receive anything (add your logic to {extension}/extension.py instead)"
            )


def register(settings_text: str, name: str) -> str:
    """settings.py with `    "name",` added as the last entry of INSTALLED_EXTENSIONS."""
    names, start, end = installed(settings_text)
    if name in names:
        raise ValueError(f"extension {name!r} is already in INSTALLED_EXTENSIONS of {SETTINGS_FILE}")
    lines = settings_text.splitlines(keepends=True)
    last = max((i for i in range(start + 1, end) if lines[i].strip()), default=None)
    if last is not None and not lines[last].rstrip().endswith((",", "[")) and not lines[last].lstrip().startswith("#"):
        lines[last] = lines[last].rstrip() + ",\n"  # a missing comma would glue two names into one
    lines.insert(end, f'    "{name}",\n')
    return "".join(lines)


def plan(
    project_dir: Path, name: str, kind: str, message_type: str | None = None, options: dict[str, str] | None = None
) -> Plan:
    """Validate everything and render in memory; ValueError (one readable line) if anything is wrong."""
    from . import naming

    naming.validate_extension_name(name)
    found = kinds.find(kind)
    if found.needs_message_type:
        if not message_type:
            raise ValueError(f"a {found.label} extension needs a message type: add TYPE=Lowercase (for example)")
        message_type = naming.validate_message_type(message_type)
    answers = kinds.resolve_options(found, options)
    project_dir = Path(project_dir)
    settings_path = project_dir / SETTINGS_FILE
    if not settings_path.is_file():
        raise ValueError(f"{project_dir} has no {SETTINGS_FILE}: run this from the project's root folder")
    if (project_dir / name).exists():
        raise ValueError(f"{project_dir / name} already exists: pick another NAME or remove that folder first")
    settings_text = settings_path.read_text(encoding="utf-8")
    if found.needs_message_type:
        refuse_consumed(project_dir, installed(settings_text)[0], message_type)
    settings_text = register(settings_text, name)
    files = render_files(name, found, message_type if found.needs_message_type else None, answers)
    return Plan(name, found, files, settings_text)


def add_extension(
    project_dir: Path, name: str, kind: str, message_type: str | None = None, options: dict[str, str] | None = None
) -> Path:
    """Create <project>/<name>/ for this kind and add it to INSTALLED_EXTENSIONS; returns the new folder."""
    project_dir = Path(project_dir)
    todo = plan(project_dir, name, kind, message_type, options)
    package = project_dir / name
    try:
        for relative, text in todo.files.items():
            target = package / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        (project_dir / SETTINGS_FILE).write_text(todo.settings_text, encoding="utf-8")
    except BaseException:
        shutil.rmtree(package, ignore_errors=True)
        raise
    return package
