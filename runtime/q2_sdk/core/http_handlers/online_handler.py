"""Online parent, as the real SDK imports it."""

from q2ext.handlers.online import OnlineUser, Q2OnlineRequestHandler

__all__ = ["OnlineUser", "Q2OnlineRequestHandler"]
