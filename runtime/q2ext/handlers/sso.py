"""SSO kind: single sign-on into a third party; default() returns a Q2SSOResponse that the base renders."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from .base import Q2BaseRequestHandler


class ResponseType(enum.Enum):
    """How the SSO answer reaches the user: an HTML page (often an auto-posting form) or a redirect."""

    HTML = "html"
    REDIRECT = "redirect"


@dataclass
class Q2SSOResponse:
    """What default() returns: HTML to show, or the URL to send the user to."""

    response_type: ResponseType
    response: str
    user_level_config_list: Any = None


class Q2SSORequestHandler(Q2BaseRequestHandler):
    """Write default(); GET and POST call it and render its Q2SSOResponse.

    VENDOR_CONFIGS holds the vendor's settings (URLs, entity ids); RENDER_IN_NEW_WINDOW tells Online
    whether to open the vendor in a new tab (header q2-render-in-new-window) or in an overpanel.
    """

    VENDOR_CONFIGS: ClassVar[dict[str, str]] = {}
    RENDER_IN_NEW_WINDOW: bool = True

    @property
    def vendor_configs(self) -> dict[str, str]:
        return dict(self.VENDOR_CONFIGS)

    async def default(self) -> Q2SSOResponse:
        """Override: build the sign-on answer for this user."""
        raise NotImplementedError("write default() returning a Q2SSOResponse")

    def get_template(self, name: str, context: dict[str, Any] | None = None) -> str:
        """Render a Tornado template from this extension's templates/ folder (autoescaped)."""
        return self.render_string(name, **(context or {})).decode()

    async def get(self) -> None:
        await self._sign_on()

    async def post(self) -> None:
        await self._sign_on()

    async def _sign_on(self) -> None:
        answer = await self.default()
        if not isinstance(answer, Q2SSOResponse):
            raise TypeError(f"default() must return a Q2SSOResponse, not {type(answer).__name__}")
        self.set_header("q2-render-in-new-window", "true" if self.RENDER_IN_NEW_WINDOW else "false")
        if answer.response_type is ResponseType.REDIRECT:
            self.redirect(answer.response)
            return
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(answer.response)
