"""Q2Console kind: a back-office page in Q2Console (router and templates)."""

from __future__ import annotations

from .routed import Q2RoutedRequestHandler


class Q2ConsoleRequestHandler(Q2RoutedRequestHandler):
    """A Q2Console back-office page: router of HTML routes rendered from templates/.

    In production Q2Console signs the back-office user in before the request reaches the extension, so the
    handler itself asks for no session; locally it is open.
    """
