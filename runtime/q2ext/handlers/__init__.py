"""One small module per extension kind, all on the base handler in base.py."""
