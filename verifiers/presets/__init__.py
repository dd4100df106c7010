"""One module per provider signature scheme; each exposes ``PRESET``."""
