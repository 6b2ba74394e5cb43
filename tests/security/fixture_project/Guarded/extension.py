"""A Message Bus handler that writes down every message it handles, so tests can count them."""

import os

from q2ext.handlers.message_bus import Q2MessageBusRequestHandler


class GuardedHandler(Q2MessageBusRequestHandler):
    MESSAGE_TYPE = "Lowercase"

    async def handle(self, message):
        path = os.environ.get("GUARDED_HANDLED_LOG")
        if path:  # one line per handle() call, appended atomically (O_APPEND), across processes
            with open(path, "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {message.id}\n")
        if message.text == "please fail":
            raise RuntimeError("asked to fail")
