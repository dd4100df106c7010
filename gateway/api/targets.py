"""Which subscription targets the API accepts (checked at registration).

The URL must pass the SSRF rule (``policy.ssrf.check_url``, the one place that
rule lives), with ``security.allowed_target_networks``; host names are checked again
by the relay after DNS resolution at every attempt. Each named source must be
configured, so a typo does not silently subscribe to nothing. A payload filter must
compile (``policy.filters``): a bad operator or path is refused here, never at dispatch.
"""

from __future__ import annotations

from core.config import Config
from gateway.api.inputs import field_problem, invalid
from policy.errors import FilterError, SsrfBlockedError
from policy.filters import compile_filter
from policy.ssrf import check_url
from storage.records import SubscriptionFields


def check_fields(fields: SubscriptionFields, config: Config) -> SubscriptionFields:
    """``fields`` if the relay may deliver to them; else a 422 naming each bad field."""
    problems = []
    try:
        check_url(fields.url, config.security.allowed_target_networks)
    except SsrfBlockedError as e:
        hint = "; to deliver there, allow its network in security.allowed_target_networks"
        message = f"refused: {e}{hint if e.allowable else ''}"
        problems.append(field_problem("body", "url", message))
    known = {source.name for source in config.sources}
    for index, source in enumerate(fields.sources):
        if source not in known:
            message = f"no source named {source!r} is configured"
            problems.append(field_problem("body", f"sources[{index}]", message))
    try:
        compile_filter(fields.filter)
    except FilterError as e:
        problems.append(field_problem("body", e.path, e.message))
    if problems:
        raise invalid(problems)
    return fields
