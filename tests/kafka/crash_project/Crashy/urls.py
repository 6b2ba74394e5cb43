from tornado.web import url

from .extension import CrashyHandler

URL_PATTERNS = [url(rf"/{CrashyHandler.MESSAGE_TYPE}/message/process/sdk", CrashyHandler)]
