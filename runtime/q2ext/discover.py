"""`python -m q2ext.discover EXT ...`: print the message types the extensions' Message Bus handlers consume.

Run by the relay command in a child process (routes.py), so that the relay itself never imports user code.
"""

from __future__ import annotations

import json
import sys


def message_types(extensions: list[str]) -> list[str]:
    """The MESSAGE_TYPE of each Message Bus handler the extensions route, in order, once each."""
    from .catalog import load_routes
    from .handlers.message_bus import Q2MessageBusRequestHandler

    types = []
    for route in load_routes(extensions):
        handler = getattr(route, "handler_class", None) or (route[1] if isinstance(route, (tuple, list)) else None)
        if isinstance(handler, type) and issubclass(handler, Q2MessageBusRequestHandler) and handler.MESSAGE_TYPE:
            types.append(handler.MESSAGE_TYPE)
    return list(dict.fromkeys(types))


if __name__ == "__main__":
    print(json.dumps(message_types(sys.argv[1:])))
