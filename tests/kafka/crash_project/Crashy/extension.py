"""A Message Bus handler that takes a little while and writes down, durably, each message it finished."""

import asyncio
import os
import time

from q2ext.handlers.message_bus import Q2MessageBusRequestHandler


class CrashyHandler(Q2MessageBusRequestHandler):
    MESSAGE_TYPE = os.environ.get("CRASHY_TYPE", "Crashy")

    async def handle(self, message):
        started_log = os.environ.get("CRASHY_STARTED_LOG")
        if started_log:  # when handle() began, on the machine's one monotonic clock: the order across hosts
            _append(started_log, f"{time.monotonic_ns()} {message.id} {message.text}\n")
        await asyncio.sleep(float(os.environ.get("CRASHY_WORK_S", "0.05")))  # work, so a kill lands mid-handle()
        # One line per finished handle(), on disk before handle() returns: a SIGKILL cannot lose it.
        _append(os.environ["CRASHY_FINISHED_LOG"], f"{message.id}\n", sync=True)


def _append(path: str, line: str, sync: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
