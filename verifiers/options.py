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


def optional_text(options: Mapping[str, object], name: str) -> str | None:
    """Option ``name`` as a non-empty string, or None when it is not set."""
    if name not in options:
        return None
    return text(options, name, "")


def required_text(options: Mapping[str, object], name: str) -> str:
    """Option ``name``, which must be set to a non-empty string."""
    value = optional_text(options, name)
    if value is None:
        raise VerifierConfigError(f"options.{name}", "required")
    return value


def any_text(options: Mapping[str, object], name: str, default: str = "") -> str:
    """Option ``name`` as a string that may be empty (a prefix, say)."""
    value = options.get(name, default)
    if not isinstance(value, str):
        raise VerifierConfigError(f"options.{name}", "must be a string")
    return value


def texts(options: Mapping[str, object], name: str) -> tuple[str, ...]:
    """Option ``name`` as a list of non-empty strings (one string counts as a list of one)."""
    value = options.get(name, ())
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) and i for i in items):
        raise VerifierConfigError(f"options.{name}", "must be a list of non-empty strings")
    return tuple(items)
