"""Models under the paths Q2's docs import them from."""
