"""One module per adapter type: its typed requests and replies, its base class, and example requests."""
