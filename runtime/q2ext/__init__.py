"""q2ext: the thin runtime vendored into every generated Q2-SDK-style extension project."""

__version__ = "0.1.0"
WIRE_VERSION = "1.0.0"
