"""Webhook signature verification: pure functions of (request, secrets, now).

No I/O, no imports from ``gateway``, ``relay`` or ``storage``. The public surface:
``build_verifier``/``find_preset``/``PRESETS`` (registry), ``Request``, ``Verified``,
``Handshake``, ``Verifier`` (model) and the error tree in ``verifiers.errors``.
"""

from verifiers.errors import (
    MalformedRequestError,
    MissingHeaderError,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    UnsupportedVersionError,
    VerificationError,
    VerifierConfigError,
    VerifierError,
)
from verifiers.model import Handshake, NeedsFetch, Preset, Request, Settings, Verified, Verifier
from verifiers.registry import PRESETS, build_verifier, find_preset

__all__ = [
    "PRESETS",
    "Handshake",
    "MalformedRequestError",
    "MissingHeaderError",
    "NeedsFetch",
    "Preset",
    "Request",
    "Settings",
    "SignatureMismatchError",
    "TimestampOutOfToleranceError",
    "UnsupportedVersionError",
    "VerificationError",
    "Verified",
    "Verifier",
    "VerifierConfigError",
    "VerifierError",
    "build_verifier",
    "find_preset",
]
