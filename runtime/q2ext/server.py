"""Build the Tornado app from the installed extensions, and serve it."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket

import tornado.web

from . import __version__, bus_lane, netserver, services as services_mod, startup
from .catalog import describe, load_routes
from .console import announce as announce_console, routes as console_routes
from .handlers.base import Q2BaseRequestHandler
from .metrics import CONTENT_TYPE
from .services import Services
from .settings import Settings

log = logging.getLogger("q2ext.server")
access_log = logging.getLogger("tornado.access")


class MetricsHandler(tornado.web.RequestHandler):
    """GET /metrics: this process's counters in the Prometheus text format."""

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(self.application.settings["q2ext_services"].metrics.render())


class HealthHandler(Q2BaseRequestHandler):
    """GET /health: the server is up and which extensions it serves."""

    def get(self) -> None:
        svc = self.application.settings["q2ext_services"]
        self.write_json({"status": "ok", "version": __version__, "extensions": list(svc.settings.INSTALLED_EXTENSIONS)})


def needs_keys(settings: Settings) -> bool:
    """Keys are loaded at start only where messages are handled: a Message Bus extension is installed.

    Code that only pushes loads them on its first push() (which fails with a one-line error without them).
    """
    return any(ext.message_types for ext in describe(settings.INSTALLED_EXTENSIONS))


def build_for_server(settings: Settings) -> Services:
    """build(), but with no key ring (and no key warning) where no Message Bus extension is installed."""
    if needs_keys(settings):
        return services_mod.build(settings)
    return Services(settings=settings, ring=None, seen=services_mod.make_seen(settings))


def make_app(services: Services, extensions: list[str] | tuple[str, ...] | None = None) -> bus_lane.Application:
    """The application serving these extensions plus /status, /health; in DEBUG also / and /metrics."""
    from . import pages
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
        app_routes(routes, services),
        q2ext_services=services,
        q2ext_settings=services.settings,
        q2ext_extensions=tuple(names),
        default_handler_class=pages.NotFoundHandler,
        compiled_template_cache=not services.settings.DEBUG,  # DEBUG: an edited template shows on the next request
        debug=False,
        log_function=_access_log,
    )


def app_routes(routes: list, services: Services) -> list:
    """DEBUG: the extensions' index at / too. Out of DEBUG: no /metrics on the app port (see serve_metrics).

    Notes the message types these routes consume on services, for the loopback bus.
    """
    from . import catalog, pages

    services.consumed = catalog.consumed_types(routes)
    if services.settings.DEBUG:
        return [(r"/", pages.IndexHandler), *routes]
    return [route for route in routes if not (isinstance(route, tuple) and route[1] is MetricsHandler)]


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
    announce_console(services, port)
    if services.ring is None:
        log.info("no Message Bus extension installed: no message keys loaded (push() loads them when first used)")
        return
    log.info(
        "message keys from %s (ids %s, active %s)",
        services.ring.source,
        ", ".join(sorted(services.ring.keys)),
        services.ring.active_id,
    )
    if services.ring.dev:
        log.warning("*" * 78)
        log.warning(
            "DEBUG: using the DEVELOPMENT key ring (%s). Never run this way in production:", services.ring.source
        )
        log.warning("out of DEBUG the server refuses it; run `make keys` to create a real key ring.")
        log.warning("*" * 78)


def is_listen_error(exc: BaseException) -> bool:
    """A socket that could not listen (port taken, no permission, no such address), not a file error."""
    listen_errors = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)
    return isinstance(exc, OSError) and exc.errno in listen_errors and exc.filename is None


def port_problem(exc: OSError, host: str, port: int) -> str:
    """One line for a port the server cannot listen on, with the `make run PORT=` that fixes it."""
    if exc.errno == errno.EADDRINUSE:
        spare = free_port_near(host, port)
        return f"port {port} is in use (another make run?); run make run PORT={spare}"
    if exc.errno == errno.EACCES:
        return f"port {port} needs root privileges; run make run PORT={free_port_near(host, 1980)}"
    return f"cannot listen on {host}:{port} ({exc.strerror or exc}); set another HOST or PORT"


def free_port_near(host: str, port: int, tries: int = 50) -> int:
    """The first port after this one that nobody listens on right now (a suggestion: it may be taken later)."""
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1" if host == "localhost" else host, candidate))
            except OSError:
                continue
            return candidate
    return port + 1


def serve_metrics(services: Services) -> netserver.LimitedHTTPServer | None:
    """Out of DEBUG, /metrics on its own METRICS_HOST:METRICS_PORT (127.0.0.1:1982); a taken port only disables it."""
    cfg = services.settings
    if cfg.DEBUG or not cfg.METRICS_PORT:
        return None
    app = tornado.web.Application([(r"/metrics/?", MetricsHandler)], q2ext_services=services, log_function=_access_log)
    server = netserver.make_server(app, cfg)  # the application port's limits: METRICS_HOST may face a network
    try:
        server.listen(cfg.METRICS_PORT, address=cfg.METRICS_HOST)
    except OSError as exc:
        log.warning(
            "metrics port %s:%d unavailable (%s): no /metrics for this server; set METRICS_PORT",
            cfg.METRICS_HOST,
            cfg.METRICS_PORT,
            exc.strerror or exc,
        )
        return None
    log.info("metrics on http://%s:%d/metrics (not on the application port)", cfg.METRICS_HOST, cfg.METRICS_PORT)
    return server


async def serve(services: Services, port: int, stop: asyncio.Event | None = None, reload: bool = False) -> None:
    """Serve until stop is set (or SIGINT/SIGTERM), then close the bus and the listeners; reload: see reloader."""
    services_mod.install(services)
    app = make_app(services)
    netserver.start_limits(services.settings)
    server = netserver.make_server(app, services.settings)
    server.listen(port, address=services.settings.HOST)
    announce(services, port)
    metrics_server = serve_metrics(services)
    if services.settings.DEBUG:
        log.info("DEBUG: the extensions and their URLs are listed at http://%s:%d/", services.settings.HOST, port)
    if reload:
        from . import reloader

        reloader.start(services)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    server.stop()
    if metrics_server is not None:
        metrics_server.stop()
    await server.close_all_connections()
    await services.close()
