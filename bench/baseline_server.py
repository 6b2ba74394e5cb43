"""Baseline A: the least a Tornado POST handler can do (no envelope), in its own process.

python bench/baseline_server.py --port P
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import tornado.httpserver
import tornado.web


class PlainPost(tornado.web.RequestHandler):
    """Answers every POST 200 with a small JSON body, like the Message Bus handler's success answer."""

    def post(self, *_args) -> None:
        self.finish({"status": 200})

    def get(self, *_args) -> None:
        self.finish({"status": "ok"})

    def check_xsrf_cookie(self) -> None:
        """No cookies on this path, as on the bus path."""


async def serve(port: int) -> None:
    app = tornado.web.Application([(r"/(.*)", PlainPost)])
    server = tornado.httpserver.HTTPServer(app)
    server.listen(port, address="127.0.0.1")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
