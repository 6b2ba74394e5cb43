"""PLACEHOLDER: replaced by the kinds work (Custom Health Check kind and GET /status)."""

import tornado.web


class StatusHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish({"status": "ok"})
