"""Ardent (API) parent, as the real SDK imports it."""

from q2ext.handlers.ardent import Q2ArdentRequestHandler

__all__ = ["Q2ArdentRequestHandler"]
