"""Message Bus parent, as the seed imports it."""

from q2ext.handlers.message_bus import Q2MessageBusRequestHandler

__all__ = ["Q2MessageBusRequestHandler"]
