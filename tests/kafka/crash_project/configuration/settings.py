"""Settings of the handler-crash tests' project (the tests set the rest with Q2EXT_* variables)."""

DEBUG = False
INSTALLED_EXTENSIONS = ["Crashy"]
