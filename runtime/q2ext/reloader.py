"""DEBUG: restart the server when its code or settings change, as Tornado's debug mode does."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

import tornado.autoreload

from . import logs
from .services import Services

log = logging.getLogger("q2ext.server")
SETTINGS_MODULE = "configuration.settings"
RESTARTED = "Q2EXT_RESTARTED_BY_AUTORELOAD"  # set for the process the restart runs (not a setting)


def watched_files() -> list[str]:
    """Files a change of which restarts the server beyond every imported module: the settings file."""
    module = sys.modules.get(SETTINGS_MODULE)
    path = getattr(module, "__file__", None) or str(Path("configuration", "settings.py").resolve())
    return [path]


def start(services: Services) -> None:
    """Watch every imported module (the extensions included) and the settings; re-run the same command on a change.

    tornado.autoreload checks the files every 0.5 s; the restart runs exactly this process's command line again
    (sys.orig_argv: `python -m q2ext run --port ...`, interpreter flags included), so the new process serves the
    same port, settings and flags.
    """
    for path in watched_files():
        tornado.autoreload.watch(path)
    tornado.autoreload.add_reload_hook(lambda: _restart(services))
    tornado.autoreload.start()
    log.info("DEBUG: watching the code and %s; a change restarts the server", SETTINGS_MODULE.replace(".", "/") + ".py")


def _restart(services: Services | None) -> None:
    """Flush what the exec would lose (the seen-id store's pending marks, the log), then run the same command."""
    os.environ[RESTARTED] = "1"
    close = getattr(services.seen, "close", None) if services else None
    if close:
        close()
    for handler in logging.getLogger().handlers:
        handler.flush()
    if os.name == "posix":  # else tornado.autoreload starts the command again its own way
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def restarted() -> bool:
    """Whether this process is a restart after a change (not the one the user started)."""
    return os.environ.get(RESTARTED) == "1"


def wait_for_fix(exc: BaseException) -> NoReturn:
    """After a restart, code that fails to load: show why, then restart on the next change instead of exiting."""
    if not logging.getLogger().handlers:  # the settings themselves did not load
        logs.setup()
    log.error("the changed code does not load:\n%s", "".join(traceback.format_exception(exc)).rstrip())
    for frame in traceback.extract_tb(exc.__traceback__):
        tornado.autoreload.watch(frame.filename)
    if isinstance(exc, SyntaxError) and exc.filename:
        tornado.autoreload.watch(exc.filename)
    for path in watched_files():
        tornado.autoreload.watch(path)
    log.error("DEBUG: fix it and save; the server restarts then (Ctrl-C to stop)")
    tornado.autoreload.add_reload_hook(lambda: _restart(None))
    tornado.autoreload.wait()
    raise SystemExit(1)  # wait() only returns if the restart failed
