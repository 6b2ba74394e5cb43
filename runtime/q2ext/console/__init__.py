"""The bus console: a live page of pushes, deliveries, refusals and dead letters at /_q2ext/console (DEBUG only)."""

from __future__ import annotations

import logging

from .. import events
from ..services import Services

PATH = "/_q2ext/console"
log = logging.getLogger("q2ext.console")


def enabled(services: Services) -> bool:
    """In DEBUG, unless CONSOLE_EVENTS is 0; never out of DEBUG."""
    return services.settings.DEBUG and services.settings.CONSOLE_EVENTS > 0


def routes(services: Services) -> list:
    """The console's routes in DEBUG (recording starts); none out of DEBUG, where the hub stays off."""
    if not enabled(services):
        events.hub.disable()
        return []
    from .web import handlers

    events.hub.enable(services.settings.CONSOLE_EVENTS)
    return handlers(PATH)


def announce(services: Services, port: int) -> None:
    """The console's URL on the start-up screen, when it is served."""
    if enabled(services):
        log.info("bus console: http://%s:%d%s/ (DEBUG only)", services.settings.HOST, port, PATH)
