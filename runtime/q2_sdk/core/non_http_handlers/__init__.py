"""Handlers that are not HTTP endpoints (Custom Health Check), under the real SDK's import paths."""
