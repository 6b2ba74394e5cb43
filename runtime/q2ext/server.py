"""Build the Tornado app from the installed extensions, and serve it."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal

import tornado.web

from . import __version__, bus_lane, netserver, services as services_mod, startup
from .console import announce as announce_console, routes as console_routes
from .handlers.base import Q2BaseRequestHandler
from .services import Services

log = logging.getLogger("q2ext.server")
access_log = logging.getLogger("tornado.access")


class MetricsHandler(tornado.web.RequestHandler):
    """GET /metrics: this process's counters in the Prometheus text format."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(self.application.settings["q2ext_services"].metrics.render())


class HealthHandler(Q2BaseRequestHandler):
    """GET /health: the server is up and which extensions it serves."""

    def get(self) -> None:
        svc = self.application.settings["q2ext_services"]
        self.write_json({"status": "ok", "version": __version__, "extensions": list(svc.settings.INSTALLED_EXTENSIONS)})


def load_routes(extensions: tuple[str, ...] | list[str]) -> list:
    """The URL_PATTERNS of every installed extension, in the order of INSTALLED_EXTENSIONS."""
    routes: list = []
    for name in extensions:
        try:
            module = importlib.import_module(f"{name}.urls")
        except ModuleNotFoundError as exc:
            raise SystemExit(
                f"INSTALLED_EXTENSIONS names {name!r}, but {name}/urls.py cannot be imported ({exc}); "
                f"fix configuration/settings.py or run `make extension NAME={name} KIND=...`"
            ) from None
        routes.extend(getattr(module, "URL_PATTERNS", []))
    return routes


def make_app(services: Services, extensions: list[str] | tuple[str, ...] | None = None) -> bus_lane.Application:
    """The application serving these extensions plus /status, /health and /metrics."""
    from .handlers.health_check import StatusHandler

    names = services.settings.INSTALLED_EXTENSIONS if extensions is None else extensions
    routes = [
        (r"/status/?", StatusHandler),
        (r"/health/?", HealthHandler),
        (r"/metrics/?", MetricsHandler),
        *load_routes(names),
        *console_routes(services),  # /_q2ext/console, in DEBUG only
    ]
    startup.check(routes)  # one handler per message type; required configurations present
    return bus_lane.Application(
        routes,
        q2ext_services=services,
        q2ext_settings=services.settings,
        q2ext_extensions=tuple(names),
        debug=False,
        log_function=_access_log,
    )


def _access_log(handler: tornado.web.RequestHandler) -> None:
    """One line per request at INFO for errors, DEBUG for successes (the hot path stays quiet)."""
    status = handler.get_status()
    level = logging.DEBUG if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    if access_log.isEnabledFor(level):
        access_log.log(
            level, "%d %s %.2fms", status, handler._request_summary(), 1000.0 * handler.request.request_time()
        )


def announce(services: Services, port: int) -> None:
    """Say what is served, which bus, and where the keys come from (never the keys)."""
    cfg = services.settings
    mode = "DEBUG" if cfg.DEBUG else "production"
    log.info(
        "q2ext %s serving %s on http://%s:%d (%s, %s bus)",
        __version__,
        ", ".join(cfg.INSTALLED_EXTENSIONS) or "no extensions",
        cfg.HOST,
        port,
        mode,
        cfg.bus_mode,
    )
    log.info(
        "message keys from %s (ids %s, active %s)",
        services.ring.source,
        ", ".join(sorted(services.ring.keys)),
        services.ring.active_id,
    )
    announce_console(services, port)
    if services.ring.dev:
        log.warning("*" * 78)
        log.warning(
            "DEBUG: using the DEVELOPMENT key ring (%s). Never run this way in production:", services.ring.source
        )
        log.warning("out of DEBUG the server refuses it; run `make keys` to create a real key ring.")
        log.warning("*" * 78)


async def serve(services: Services, port: int, stop: asyncio.Event | None = None) -> None:
    """Serve until stop is set (or SIGINT/SIGTERM), then close the bus and the listeners."""
    services_mod.install(services)
    app = make_app(services)
    netserver.start_limits(services.settings)
    server = netserver.make_server(app, services.settings)
    server.listen(port, address=services.settings.HOST)
    announce(services, port)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    server.stop()
    await server.close_all_connections()
    await services.close()
