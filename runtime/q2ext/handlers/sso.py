"""SSO kind: single sign-on into a third party; default() returns a Q2SSOResponse that the base renders."""

from __future__ import annotations

import enum
import html
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .base import Q2BaseRequestHandler


class ResponseType(enum.Enum):
    """How the SSO answer reaches the user: an HTML page (often an auto-posting form) or a redirect."""

    HTML = "html"
    REDIRECT = "redirect"


@dataclass
class UserLevelConfig:
    """One user-level value for the vendor (Q2 keeps it in Q2_ThirdPartyData; here it is only logged)."""

    key: str
    value: str


@dataclass
class UserLevelConfigList:
    """The user-level values of one vendor."""

    vendor_id: int
    configs: list[UserLevelConfig] = field(default_factory=list)


@dataclass
class Q2SSOResponse:
    """What default() returns, with the signature of Q2's docs (q2_sdk.hq.models.sso_response.Q2SSOResponse).

    response is the HTML to show or the URL to send the user to; success=False marks a failed sign-on
    (Q2 logs it in HQ; here it is logged) and end_user_error_message is what the user then sees.
    """

    response_type: ResponseType
    response: str
    success: bool = True
    end_user_error_message: str = ""
    user_level_config_list: UserLevelConfigList | None = None


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

    async def get(self, *args: Any, **kwargs: Any) -> None:
        await self._sign_on()

    async def post(self, *args: Any, **kwargs: Any) -> None:
        await self._sign_on()

    async def _sign_on(self) -> None:
        answer = await self.default()
        if not isinstance(answer, Q2SSOResponse):
            raise TypeError(f"default() must return a Q2SSOResponse, not {type(answer).__name__}")
        self.set_header("q2-render-in-new-window", "true" if self.RENDER_IN_NEW_WINDOW else "false")
        if not answer.success:
            self.logger.warning("sign-on failed: %s", answer.end_user_error_message or "(no message for the user)")
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            shown = answer.end_user_error_message or "Sign-on failed: please try again later."
            self.finish(f"<p>{html.escape(shown)}</p>")
            return
        if answer.response_type is ResponseType.REDIRECT:
            self.redirect(answer.response)
            return
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(answer.response)
