"""Q2Console (back office) parent, as the real SDK imports it."""

from q2ext.handlers.q2console import Q2ConsoleRequestHandler

__all__ = ["Q2ConsoleRequestHandler"]
