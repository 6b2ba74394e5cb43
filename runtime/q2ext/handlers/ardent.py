"""Ardent kind: a JSON API for calls from the outside world."""

from __future__ import annotations

from typing import Any

from .base import Q2BaseRequestHandler


class Q2ArdentRequestHandler(Q2BaseRequestHandler):
    """JSON in, JSON out: read self.request_json, answer with self.write_json(payload, status).

    Errors answer JSON too ({"status": ..., "error": ...}); a body that is not a JSON object is a 400.
    """

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")

    @property
    def request_json(self) -> dict[str, Any]:
        """The request body as a JSON object (empty for no body); a 400 that says why if it is not one."""
        cached = getattr(self, "_q2_request_json", None)
        if cached is None:
            cached = self._q2_request_json = self.json_body()
        return cached
