"""Authentication Token adapter: a token that a third party accepts for this user."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapter import Q2AdapterRequestHandler


@dataclass
class AuthenticationTokenRequest:
    user_id: int
    login_name: str
    audience: str = ""


@dataclass
class AuthenticationTokenReply:
    token: str
    expires_in_seconds: int = 300


class Q2AuthenticationTokenAdapter(Q2AdapterRequestHandler):
    """Write get_authentication_token(request) -> AuthenticationTokenReply."""

    ADAPTER_TYPE = "authentication_token"


EXAMPLE_REQUESTS = {
    "get_authentication_token": {"user_id": 7, "login_name": "alice", "audience": "vendor.example"},
}
