"""Runnable scripts of the dynamic API and of a generated module (``python -m examples.<name>``)."""
