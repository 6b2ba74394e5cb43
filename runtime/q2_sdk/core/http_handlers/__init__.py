"""The handler base classes under the seed's import paths."""
