"""Adapter kind: Q2 calls typed methods (per adapter type) in place of its own integration."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import tornado.web

from .. import kinds, typed
from .base import Q2BaseRequestHandler


class Q2AdapterRequestHandler(Q2BaseRequestHandler):
    """POST {"method": "<name>", "request": {...}}: the request becomes the method's typed request object,
    the method's typed reply is answered as {"method": ..., "response": {...}}.

    ADAPTER_TYPE (a key of q2ext.kinds.ADAPTER_TYPES) fixes which methods exist and their types; GET
    describes them. Answers: 400 for an unknown method or a request that does not fit its type (the reason
    names the field), 501 for a method the extension has not written yet, 500 if the method raised.
    """

    ADAPTER_TYPE: str = ""

    @property
    def adapter(self) -> kinds.AdapterType:
        return kinds.find_adapter_type(self.ADAPTER_TYPE)

    def _types(self):
        return importlib.import_module(self.adapter.module)

    def implemented(self, name: str) -> bool:
        """Whether this extension wrote the method (the per-type base classes leave them out)."""
        return inspect.iscoroutinefunction(getattr(self, name, None))

    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Describe the adapter: its type and each method's request fields and response type."""
        types = self._types()
        methods = [
            {
                "name": m.name,
                "doc": m.doc,
                "request": {m.request: typed.describe(getattr(types, m.request))},
                "response": m.response,
                "implemented": self.implemented(m.name),
            }
            for m in self.adapter.methods
        ]
        self.write_json({"adapter_type": self.adapter.key, "label": self.adapter.label, "methods": methods})

    async def post(self, *args: Any, **kwargs: Any) -> None:
        body = self.json_body()
        spec = self.adapter.method(str(body.get("method", "")))
        if spec is None:
            known = ", ".join(m.name for m in self.adapter.methods)
            raise tornado.web.HTTPError(400, reason=f"unknown method {body.get('method')!r} (methods: {known})")
        if not self.implemented(spec.name):
            raise tornado.web.HTTPError(501, reason=f"{spec.name}() is not written yet in {type(self).__name__}")
        try:
            request = typed.from_json(getattr(self._types(), spec.request), body.get("request", {}))
        except ValueError as exc:
            raise tornado.web.HTTPError(400, reason=str(exc)) from None
        method = getattr(self, spec.name)
        # Q2's documented signature for some types (FX Rate: currency_code, amount, group_id), else the request.
        reply = await (method(*(getattr(request, p) for p in spec.params)) if spec.params else method(request))
        self.write_json({"method": spec.name, "response": typed.to_json(reply)})
