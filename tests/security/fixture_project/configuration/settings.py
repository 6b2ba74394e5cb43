"""Settings of the security tests' fixture project (tests override them with Q2EXT_* variables)."""

DEBUG = False
INSTALLED_EXTENSIONS = ["Guarded"]
