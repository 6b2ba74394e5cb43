"""Jinja templates of an extension (templates/*.html.jinja2), as Q2 extensions keep and render them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

AUTOESCAPED = ("html", "htm", "xml", "jinja2", "j2")  # index.html.jinja2 ends in .jinja2: escaped like HTML


@lru_cache(maxsize=64)
def environment(folder: str) -> jinja2.Environment:
    """One Jinja environment per templates/ folder; it reloads a template whose file changed."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(enabled_extensions=AUTOESCAPED, default_for_string=True),
        auto_reload=True,
    )


def render(folder: str, name: str, context: dict[str, Any]) -> str:
    """The template `name` from `folder` rendered with `context`; ValueError names a missing template."""
    try:
        template = environment(folder).get_template(name)
    except jinja2.TemplateNotFound:
        raise ValueError(
            f"no template {name!r} in {folder}/ (Q2 extensions name them e.g. index.html.jinja2)"
        ) from None
    return template.render(context)
