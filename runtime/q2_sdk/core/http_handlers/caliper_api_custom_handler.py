"""Caliper API Custom Endpoint parent, as the real SDK imports it."""

from q2ext.handlers.caliper_api_custom import Q2CaliperAPICustomHandler

__all__ = ["Q2CaliperAPICustomHandler"]
