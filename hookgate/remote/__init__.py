"""Remote commands: ``hookgate events|deliveries|tail|listen`` against a running hookgate.

``client`` is the one API client; ``running`` holds the options they share and how they
run and fail; one module per command group.
"""
