"""External Authentication adapter: login and password changes checked by an external identity system."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapter import Q2AdapterRequestHandler


@dataclass
class ExternalAuthRequest:
    login_name: str
    password: str


@dataclass
class ChangePasswordRequest:
    login_name: str
    old_password: str
    new_password: str


@dataclass
class ExternalAuthReply:
    success: bool
    message: str = ""


class Q2ExternalAuthenticationAdapter(Q2AdapterRequestHandler):
    """Write authenticate(request) and change_password(request) -> ExternalAuthReply. Never log passwords."""

    ADAPTER_TYPE = "external_authentication"


EXAMPLE_REQUESTS = {
    "authenticate": {"login_name": "alice", "password": "correct horse"},
    "change_password": {"login_name": "alice", "old_password": "correct horse", "new_password": "battery staple"},
}
