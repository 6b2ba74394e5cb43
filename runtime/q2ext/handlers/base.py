"""The base of every extension handler: a logger named like the seed's, settings, JSON helpers."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import tornado
import tornado.web
from tornado import httputil

from .. import configurations, settings as settings_mod, templating
from ..settings import Settings

_SERVER = f"TornadoServer/{tornado.version}"
_date = (-1, "")  # (second, its HTTP date)


def http_date(now: float | None = None) -> str:
    """The Date header of this second, formatted once per second (Tornado formats it per response)."""
    global _date
    second = int(time.time() if now is None else now)
    if _date[0] != second:
        _date = (second, httputil.format_timestamp(second))
    return _date[1]


class Q2BaseRequestHandler(tornado.web.RequestHandler):
    """A Tornado handler with what every extension kind needs; get()/post() are yours to write.

    REQUIRED_CONFIGURATIONS / OPTIONAL_CONFIGURATIONS ({name: default}, as on Q2's base handler page) are read
    from configuration/<Extension>.py into self.config; a missing required one stops the server at start.
    """

    REQUIRED_CONFIGURATIONS: dict[str, Any] = {}  # noqa: RUF012 - Q2's spelling: a plain dict on the class
    OPTIONAL_CONFIGURATIONS: dict[str, Any] = {}  # noqa: RUF012

    def clear(self) -> None:
        """Tornado's clear() (same headers, same defaults), with the Date header cached per second."""
        self._headers = httputil.HTTPHeaders(
            {"Server": _SERVER, "Content-Type": "text/html; charset=UTF-8", "Date": http_date()}
        )
        self.set_default_headers()
        self._write_buffer = []
        self._status_code = 200
        self._reason = httputil.responses[200]

    @property
    def logger(self) -> logging.Logger:
        """Logger 'extension.<route>' (e.g. extension.SendToBus), as in the seed tutorial's log."""
        logger = getattr(self, "_q2_logger", None)
        if logger is None:
            route = self.request.path.strip("/") or type(self).__name__
            logger = self._q2_logger = logging.getLogger(f"extension.{route}")
        return logger

    @property
    def q2_settings(self) -> Settings:
        return self.application.settings.get("q2ext_settings") or settings_mod.get()

    @property
    def extension_name(self) -> str:
        """The extension package this handler lives in (its top-level module name)."""
        return type(self).__module__.split(".")[0]

    def get_template_path(self) -> str:
        """Each extension renders templates from its own templates/ folder."""
        module = sys.modules.get(type(self).__module__)
        base = Path(module.__file__).parent if module and getattr(module, "__file__", None) else Path.cwd()
        return str(base / "templates")

    def get_template(self, template_name: str, context: dict[str, Any] | None = None) -> str:
        """Render templates/<template_name> (Jinja, e.g. 'index.html.jinja2') with context, HTML autoescaped."""
        return templating.render(
            self.get_template_path(), template_name, {**self.template_context(), **(context or {})}
        )

    def template_context(self) -> dict[str, Any]:
        """What every template of this handler sees besides its context (override to add to it)."""
        return {"request": self.request}

    @property
    def config(self) -> configurations.Configuration:
        """REQUIRED_CONFIGURATIONS and OPTIONAL_CONFIGURATIONS values from configuration/<Extension>.py."""
        cached = getattr(self, "_q2_config", None)
        if cached is None:
            cached = self._q2_config = configurations.load(self.extension_name, type(self))
        return cached

    def write_json(self, payload: Any, status: int = 200) -> None:
        """Answer with a JSON body and status."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(payload, default=str))

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 that says why not."""
        body = self.request.body
        if not body:
            return {}
        limit = self.q2_settings.MAX_JSON_BODY_BYTES
        if len(body) > limit:
            raise tornado.web.HTTPError(413, reason=f"JSON body over the {limit}-byte limit (MAX_JSON_BODY_BYTES)")
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise tornado.web.HTTPError(400, reason="body is not valid JSON") from None
        except RecursionError:  # '[' * 10000: Python's parser gives up; the sender's mistake, not ours (500)
            raise tornado.web.HTTPError(400, reason="body nests JSON too deeply") from None
        if not isinstance(value, dict):
            raise tornado.web.HTTPError(400, reason="body must be a JSON object")
        return value

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors answer JSON with the reason, never a traceback (even in DEBUG)."""
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"status": status_code, "error": self._reason}))
