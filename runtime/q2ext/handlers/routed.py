"""What Online, Central and Q2Console pages share: a router of named async methods that answer HTML."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import tornado.web

from .base import Q2BaseRequestHandler

Route = Callable[[], Awaitable[str]]


class Q2RoutedRequestHandler(Q2BaseRequestHandler):
    """GET and POST call router[routing_key] (default 'default'); the string it returns is the HTML page."""

    ROUTING_ARGUMENT = "routing_key"

    @property
    def router(self) -> dict[str, Route]:
        """Route name -> async method answering HTML; override to add routes such as 'submit'."""
        return {"default": self.default}

    async def default(self) -> str:
        """The page shown when no routing_key is given."""
        return self.get_template("index.html.jinja2", {})

    @property
    def routing_key(self) -> str:
        """Which route this request asks for: the routing_key query or form argument."""
        return self.get_argument(self.ROUTING_ARGUMENT, "default")

    @property
    def form_fields(self) -> dict[str, str]:
        """The submitted form (or query) arguments, one value each."""
        return {name: self.get_argument(name) for name in self.request.arguments if name != self.ROUTING_ARGUMENT}

    async def authorize(self) -> None:
        """Hook run before any route; raise tornado.web.HTTPError to refuse the request."""

    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self._route()

    async def post(self, *args: Any, **kwargs: Any) -> None:
        await self._route()

    async def _route(self) -> None:
        await self.authorize()
        routes = self.router
        route = routes.get(self.routing_key)
        if route is None:
            known = ", ".join(sorted(routes))
            raise tornado.web.HTTPError(404, reason=f"no route {self.routing_key!r} (routes: {known})")
        html = await route()
        if not self._finished:
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.finish(html)
