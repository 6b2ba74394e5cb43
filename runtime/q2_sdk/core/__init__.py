"""q2_sdk.core: message_bus and http_handlers, as the seed tutorial imports them."""
