"""A Message Bus handler that takes a little while and writes down, durably, each message it finished."""

import asyncio
import os

from q2ext.handlers.message_bus import Q2MessageBusRequestHandler


class CrashyHandler(Q2MessageBusRequestHandler):
    MESSAGE_TYPE = os.environ.get("CRASHY_TYPE", "Crashy")

    async def handle(self, message):
        await asyncio.sleep(float(os.environ.get("CRASHY_WORK_S", "0.05")))  # work, so a kill lands mid-handle()
        # One line per finished handle(), on disk before handle() returns: a SIGKILL cannot lose it.
        fd = os.open(os.environ["CRASHY_FINISHED_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{message.id}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
