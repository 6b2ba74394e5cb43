"""DEBUG: restart the server when its code or settings change, as Tornado's debug mode does."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import tornado.autoreload

from .services import Services

log = logging.getLogger("q2ext.server")
SETTINGS_MODULE = "configuration.settings"


def watched_files(services: Services) -> list[str]:
    """Files a change of which restarts the server beyond every imported module: the settings file."""
    module = sys.modules.get(SETTINGS_MODULE)
    path = getattr(module, "__file__", None) or str(Path("configuration", "settings.py").resolve())
    return [path]


def start(services: Services) -> None:
    """Watch every imported module (the extensions included) and the settings; re-exec the same command on a change.

    tornado.autoreload re-runs `python -m q2ext ...` with the original arguments (it keeps the -m form), so the
    new process serves the same port, settings and flags. Checked every 0.5 s.
    """
    for path in watched_files(services):
        tornado.autoreload.watch(path)
    tornado.autoreload.add_reload_hook(lambda: _before_restart(services))
    tornado.autoreload.start()
    log.info("DEBUG: watching the code and %s; a change restarts the server", SETTINGS_MODULE.replace(".", "/") + ".py")


def _before_restart(services: Services) -> None:
    """Flush what the exec would lose: the seen-id store's pending marks, and the log."""
    close = getattr(services.seen, "close", None)
    if close:
        close()
    for handler in logging.getLogger().handlers:
        handler.flush()
