from tornado.web import url

from .extension import GuardedHandler

URL_PATTERNS = [url(r"/Lowercase/message/process/sdk", GuardedHandler)]
