"""Custom Health Check kind, and GET /status: every installed check's run(), plus the server itself."""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass
from typing import Any

import tornado.web

from .. import __version__, typed
from .base import Q2BaseRequestHandler


@dataclass
class CustomHealthCheckResponse:
    """What run() returns and /status shows for one check."""

    name: str
    is_healthy: bool
    failure_reason: str | None = None
    additional_details: dict[str, Any] | None = None


class CustomHealthCheckHandler:
    """Parent of a health check: write async run(); GET /status runs it with every other check.

    Not an HTTP handler: list the class in the extension's urls.py HEALTH_CHECKS. A run() that raises or
    takes longer than TIMEOUT_SECONDS counts as failing, with the reason. /status may be polled every
    minute or more often: keep run() cheap for the systems it calls.
    """

    TIMEOUT_SECONDS: float = 5.0

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    @classmethod
    def check_name(cls) -> str:
        return cls.__name__.removesuffix("Handler") or cls.__name__

    async def run(self) -> CustomHealthCheckResponse:
        """Override: check what this extension depends on."""
        raise NotImplementedError("write run() returning a CustomHealthCheckResponse")


async def run_check(check: type[CustomHealthCheckHandler]) -> CustomHealthCheckResponse:
    """Run one check; exceptions, timeouts and wrong answers become a failing response with the reason."""
    name = check.check_name()
    logger = logging.getLogger(f"extension.{name}")
    try:
        answer = await asyncio.wait_for(check(logger).run(), timeout=check.TIMEOUT_SECONDS)
    except asyncio.TimeoutError:  # noqa: UP041 - not the builtin TimeoutError on Python 3.10
        return CustomHealthCheckResponse(name, False, f"run() took longer than {check.TIMEOUT_SECONDS:g} s")
    except Exception as exc:  # noqa: BLE001 - a failing dependency is a failing check, not a 500
        logger.warning("health check %s raised %s: %s", name, type(exc).__name__, exc)
        return CustomHealthCheckResponse(name, False, f"run() raised {type(exc).__name__}: {exc}")
    if not isinstance(answer, CustomHealthCheckResponse):
        return CustomHealthCheckResponse(name, False, f"run() returned {type(answer).__name__}, not a response")
    return answer


def installed_checks(extensions: tuple[str, ...] | list[str]) -> list[type[CustomHealthCheckHandler]]:
    """The HEALTH_CHECKS listed in each installed extension's urls.py, in INSTALLED_EXTENSIONS order."""
    checks: list[type[CustomHealthCheckHandler]] = []
    for name in extensions:
        checks.extend(getattr(importlib.import_module(f"{name}.urls"), "HEALTH_CHECKS", ()))
    return checks


def _answer(handler: tornado.web.RequestHandler, results: list[CustomHealthCheckResponse]) -> None:
    healthy = all(r.is_healthy for r in results)
    handler.set_status(200 if healthy else 503)
    handler.set_header("Content-Type", "application/json; charset=UTF-8")
    handler.finish({"status": "ok" if healthy else "failing", "checks": typed.to_json(results)})


class StatusHandler(Q2BaseRequestHandler):
    """GET /status: 200 when the server and every installed health check are healthy, else 503."""

    async def get(self) -> None:
        services = self.application.settings["q2ext_services"]
        names = self.application.settings.get("q2ext_extensions", services.settings.INSTALLED_EXTENSIONS)
        server = CustomHealthCheckResponse("server", True, None, {"version": __version__, "extensions": list(names)})
        results = await asyncio.gather(*(run_check(check) for check in installed_checks(names)))
        _answer(self, [server, *results])


class HealthCheckEndpoint(Q2BaseRequestHandler):
    """GET /<Extension>: run just this extension's check (urls.py routes it with {"check": TheCheck})."""

    def initialize(self, check: type[CustomHealthCheckHandler]) -> None:
        self.check = check

    async def get(self) -> None:
        _answer(self, [await run_check(self.check)])
