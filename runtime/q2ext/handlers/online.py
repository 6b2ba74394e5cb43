"""Online kind: an Online Banking page with a router (default/submit) and server-rendered HTML."""

from __future__ import annotations

import urllib.parse
import warnings
from dataclasses import dataclass
from typing import Any

import tornado.web

from .routed import Q2RoutedRequestHandler

TOKEN_NAME = "q2token"


@dataclass(frozen=True)
class OnlineUser:
    """The signed-in Online Banking user a session token stands for."""

    login_name: str


class Q2OnlineRequestHandler(Q2RoutedRequestHandler):
    """An Online Banking extension: routes default/submit, renders templates/, and knows the session user.

    Sessions. With IS_UNAUTHENTICATED = False (the default) every request must carry a session token named
    `q2token` (request header, cookie, or query/form argument). authenticate(token) turns it into an
    OnlineUser, available as self.online_user; no token or a refused one answers 401 and no route runs.
    The default authenticate() accepts any non-empty token in DEBUG and uses it as the login name
    (open /MyExtension?q2token=alice at `make run`); out of DEBUG it accepts none, so a real deployment
    overrides authenticate() to verify tokens with its identity provider. With IS_UNAUTHENTICATED = True no
    token is asked for and self.online_user is None (public pages such as enrollment or a rate sheet).
    """

    IS_UNAUTHENTICATED: bool = False

    online_user: OnlineUser | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """The SDK's flag is IS_UNAUTHENTICATED; this runtime's old spelling UNAUTHENTICATED still works, and warns."""
        super().__init_subclass__(**kwargs)
        if "UNAUTHENTICATED" in cls.__dict__ and "IS_UNAUTHENTICATED" not in cls.__dict__:
            warnings.warn(
                f"{cls.__qualname__}.UNAUTHENTICATED is the old spelling: write IS_UNAUTHENTICATED, as Q2's SDK does",
                FutureWarning,
                stacklevel=2,
            )
            cls.IS_UNAUTHENTICATED = bool(cls.__dict__["UNAUTHENTICATED"])

    async def authenticate(self, token: str) -> OnlineUser | None:
        """The user a session token belongs to, or None to refuse it. Override out of DEBUG."""
        if self.q2_settings.DEBUG and token:
            return OnlineUser(login_name=token)
        return None

    def template_context(self) -> dict[str, Any]:
        """Templates also see online_user and session_query ('?q2token=...' keeps a DEBUG session in forms)."""
        token = self.get_argument(TOKEN_NAME, "")
        session_query = "?" + urllib.parse.urlencode({TOKEN_NAME: token}) if token else ""
        return {**super().template_context(), "online_user": self.online_user, "session_query": session_query}

    def session_token(self) -> str:
        """The q2token of this request: header, then cookie, then argument."""
        return (
            self.request.headers.get(TOKEN_NAME) or self.get_cookie(TOKEN_NAME) or self.get_argument(TOKEN_NAME, "")
        ).strip()

    async def authorize(self) -> None:
        """Refuse the request with 401 unless the extension is unauthenticated or the session is valid."""
        if self.IS_UNAUTHENTICATED:
            return
        token = self.session_token()
        user = await self.authenticate(token) if token else None
        if user is None:
            why = "no q2token session" if not token else "q2token session refused"
            hint = " (in DEBUG any token works: add ?q2token=yourname)" if self.q2_settings.DEBUG else ""
            raise tornado.web.HTTPError(401, reason=f"{why}{hint}")
        self.online_user = user
