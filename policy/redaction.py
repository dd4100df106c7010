"""Which header values are hidden, and the one marker that stands for a hidden value.

Three places hide headers, with one rule each, here:
- an incoming webhook is stored without the headers that carry a credential itself
  (``ALWAYS_SECRET``, plus those its verifier preset declares, e.g. GitLab's token);
- an attempt is stored with its signatures and credential-like headers hidden
  (``recorded_headers``);
- a subscription's static headers are shown with credential-like values hidden
  (``shown_headers``); sending the marker back keeps the stored value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

REDACTED = "<redacted>"
# Headers that carry a credential (not a signature over the body) on any request.
ALWAYS_SECRET = frozenset({"authorization", "proxy-authorization", "cookie"})
_CREDENTIAL_LIKE = re.compile(
    r"auth|cookie|token|secret|key|password|signature|session", re.IGNORECASE
)


def is_credential_like(name: str) -> bool:
    """Whether a header called ``name`` probably carries a credential."""
    return _CREDENTIAL_LIKE.search(name) is not None


def recorded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` as stored with an attempt: signatures and credentials hidden."""
    recorded = {}
    for name, value in headers.items():
        if name == "webhook-signature":
            versions = [entry.partition(",")[0] for entry in value.split()]
            recorded[name] = " ".join(f"{v},{REDACTED}" for v in versions)
        elif is_credential_like(name):
            recorded[name] = REDACTED
        else:
            recorded[name] = value
    return recorded


def shown_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A subscription's static ``headers`` as shown: credential-like values hidden."""
    return {
        name: REDACTED if is_credential_like(name) else value for name, value in headers.items()
    }
