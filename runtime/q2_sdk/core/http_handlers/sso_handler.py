"""SSO parent and response, as the real SDK imports it."""

from q2ext.handlers.sso import Q2SSORequestHandler, Q2SSOResponse, ResponseType

__all__ = ["Q2SSORequestHandler", "Q2SSOResponse", "ResponseType"]
