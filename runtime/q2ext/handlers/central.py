"""Central kind: a page in Central, the legacy back office (router and templates)."""

from __future__ import annotations

from .routed import Q2RoutedRequestHandler


class Q2CentralRequestHandler(Q2RoutedRequestHandler):
    """A Central page: router of HTML routes rendered from templates/.

    In production Central signs the CSR in before the request reaches the extension, so the handler itself
    asks for no session; locally it is open.
    """
