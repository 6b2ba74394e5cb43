"""Adapter parent (each adapter type's base class is in q2ext.handlers.adapters.<type>), as the real SDK imports it."""

from q2ext.handlers.adapter import Q2AdapterRequestHandler

__all__ = ["Q2AdapterRequestHandler"]
