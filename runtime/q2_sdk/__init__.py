"""Seed compatibility: the import paths of the Q2 SDK tutorials, served by the vendored q2ext runtime."""
