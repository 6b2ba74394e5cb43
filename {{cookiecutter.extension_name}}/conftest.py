"""pytest fixtures for every extension's tests: a real app on a free port, an HTTP client, the bus."""

pytest_plugins = ["q2ext.testing"]
