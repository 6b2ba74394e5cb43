"""The generated project README's section on its first extension: the kinds table plus skeletons/readme/<kind>.md.

Standard library only: cookiecutter's Jinja extension (local_extensions.py) renders it before anything is installed.
"""

from __future__ import annotations

from pathlib import Path

from .kinds import ADAPTER_TYPES, find, find_adapter_type
from .naming import message_type_of

FRAGMENTS = Path(__file__).with_name("skeletons") / "readme"


def kind_section(kind_name: str, name: str, message_type: str = "", adapter_type: str = "") -> str:
    """'## Your first extension: ...' for this kind: its label, summary and what to try, in Markdown."""
    kind = find(kind_name)
    text = (FRAGMENTS / f"{kind.key}.md").read_text(encoding="utf-8").strip()
    text = text.replace("{name}", name).replace("{message_type}", message_type_of(message_type))
    summary = kind.summary
    if kind.key == "adapter":
        adapter = find_adapter_type(adapter_type or ADAPTER_TYPES[0].key)
        methods = ", ".join(f"`{m.name}()`" for m in adapter.methods)
        summary += f" Its adapter type is {adapter.label} ({adapter.summary.rstrip('.').lower()}): {methods}."
    return f"## Your first extension: {name}, {kind.label}\n\n{summary}\n\n{text}\n"
