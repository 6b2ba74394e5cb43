"""Central (legacy back office) parent, as the real SDK imports it."""

from q2ext.handlers.central import Q2CentralRequestHandler

__all__ = ["Q2CentralRequestHandler"]
