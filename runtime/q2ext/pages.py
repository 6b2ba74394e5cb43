"""The server's own pages: the DEBUG index of the installed extensions at /, and the 404 answer."""

from __future__ import annotations

import html
from typing import Any

import tornado.web

from . import catalog
from .handlers.base import Q2BaseRequestHandler
from .handlers.message_bus import BUS_SUFFIX

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left;vertical-align:top}
code{background:#f3f3f3}</style></head>
<body><h1>%(title)s</h1>
<p>DEBUG only: out of DEBUG this page is not served (404). %(bus)s</p>
<table><tr><th>extension</th><th>kind</th><th>URLs</th></tr>
%(rows)s
</table>
<p>Also: <a href="/health">/health</a>, <a href="/status">/status</a>, <a href="/metrics">/metrics</a>.
<code>Accept: application/json</code> gives this list as JSON.</p>
</body></html>
"""


def index(extensions: list[catalog.Extension], base: str) -> dict[str, Any]:
    """The index as JSON: per extension its name, kind, URLs, and for Message Bus its type and bus endpoint."""
    listed = []
    for ext in extensions:
        entry: dict[str, Any] = {
            "name": ext.name,
            "kind": ext.kind.key if ext.kind else None,
            "kind_label": ext.kind.label if ext.kind else None,
            "urls": [base + r.path if r.path else r.pattern for r in ext.routes if not r.message_type],
        }
        bus = [r for r in ext.routes if r.message_type]
        if bus:
            entry["message_types"] = [r.message_type for r in bus]
            entry["bus_endpoints"] = [base + r.path if r.path else r.pattern for r in bus]
        listed.append(entry)
    return {"extensions": listed}


def _link(url: str) -> str:
    text = html.escape(url)
    return f'<a href="{text}">{text}</a>' if url.startswith("http") else f"<code>{text}</code>"


def render(data: dict[str, Any], title: str, bus_line: str) -> str:
    """The index as an HTML page (every value escaped)."""
    rows = []
    for ext in data["extensions"]:
        cells = [_link(u) for u in ext["urls"]]
        for kind, url in zip(ext.get("message_types", ()), ext.get("bus_endpoints", ()), strict=True):
            cells.append(f"bus endpoint for <b>{html.escape(kind)}</b> messages: <code>POST {html.escape(url)}</code>")
        label = html.escape(ext["kind_label"] or "unknown")
        rows.append(f"<tr><td>{html.escape(ext['name'])}</td><td>{label}</td><td>{'<br>'.join(cells)}</td></tr>")
    if not rows:
        rows.append('<tr><td colspan="3">no extensions installed: `make extension NAME=... KIND=...`</td></tr>')
    # %-formatting keeps the CSS braces single: doubled ones would look like cookiecutter syntax in a baked project.
    return _PAGE % {"title": html.escape(title), "bus": html.escape(bus_line), "rows": "\n".join(rows)}


class IndexHandler(Q2BaseRequestHandler):
    """GET / in DEBUG: what this server serves, as HTML or (Accept: application/json) JSON."""

    def get(self) -> None:
        names = self.application.settings.get("q2ext_extensions") or self.q2_settings.INSTALLED_EXTENSIONS
        data = index(catalog.describe(names), f"{self.request.protocol}://{self.request.host}")
        if "application/json" in self.request.headers.get("Accept", ""):
            self.write_json(data)
            return
        cfg = self.q2_settings
        bus_line = f"push() uses the {cfg.bus_mode} bus."
        self.finish(render(data, f"{', '.join(names) or 'q2ext'}: installed extensions", bus_line))


class NotFoundHandler(Q2BaseRequestHandler):
    """No route matched: 404 JSON; in DEBUG a bus POST is told which message types this server consumes."""

    def prepare(self) -> None:
        if self.q2_settings.DEBUG and self.request.path.endswith(BUS_SUFFIX):
            services = self.application.settings.get("q2ext_services")
            consumed = sorted(getattr(services, "consumed", None) or {})
            wanted = self.request.path.removesuffix(BUS_SUFFIX).strip("/")
            error = f"no handler consumes {wanted!r} messages on this server"
            self.write_json({"status": 404, "error": error, "consumes": consumed}, status=404)
            return
        raise tornado.web.HTTPError(404)

    def check_xsrf_cookie(self) -> None:
        """A 404 needs no cookie check."""
