"""Policy: pure rules that both services apply, below both of them.

- ``policy.ssrf``: which URLs and addresses a delivery may reach;
- ``policy.matching``: which targets (subscriptions, handlers) an event goes to;
- ``policy.redaction``: which headers are hidden when stored or shown, and the one
  marker that stands for a hidden value.

No I/O here, and no imports from ``gateway`` or ``relay``: the gateway checks a URL at
registration and plans a replay with the same rules the relay enforces at delivery.
"""
