"""Custom Health Check parent and response, as the real SDK imports them."""

from q2ext.handlers.health_check import CustomHealthCheckHandler, CustomHealthCheckResponse

__all__ = ["CustomHealthCheckHandler", "CustomHealthCheckResponse"]
