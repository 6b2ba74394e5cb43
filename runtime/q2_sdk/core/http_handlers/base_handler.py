"""Base Extension parent, as the seed imports it."""

from q2ext.handlers.base import Q2BaseRequestHandler

__all__ = ["Q2BaseRequestHandler"]
