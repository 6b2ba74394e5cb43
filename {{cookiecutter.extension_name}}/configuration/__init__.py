"""This project's configuration: settings.py (read by q2ext.settings.load())."""
