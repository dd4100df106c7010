"""Typed reading of a preset's ``options`` mapping, with errors naming the key."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from verifiers.errors import VerifierConfigError


def text(options: Mapping[str, object], name: str, default: str) -> str:
    """Option ``name`` as a non-empty string, or ``default`` when absent."""
    value = options.get(name, default)
    if not isinstance(value, str) or not value:
        raise VerifierConfigError(f"options.{name}", "must be a non-empty string")
    return value


def choice(options: Mapping[str, object], name: str, allowed: Collection[str], default: str) -> str:
    """Option ``name`` as one of ``allowed``."""
    value = options.get(name, default)
    if value not in allowed:
        listed = ", ".join(sorted(allowed))
        raise VerifierConfigError(f"options.{name}", f"must be one of {listed}")
    return str(value)


def flag(options: Mapping[str, object], name: str, default: bool) -> bool:
    """Option ``name`` as a boolean (YAML true/false, or the strings from ``${VAR}``)."""
    value = options.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise VerifierConfigError(f"options.{name}", "must be true or false")
