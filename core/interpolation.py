"""``${VAR}`` and ``${VAR:-default}`` in config values, resolved from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Interpolated(str):
    """A string that came (at least partly) from the environment.

    The config reader coerces these to the key's type (``"8080"`` → 8080); a
    literal YAML string in a numeric field stays an error.
    """

    __slots__ = ()


class UnsetVariableError(Exception):
    """``${VAR}`` names an unset variable and gives no default."""

    def __init__(self, variable: str) -> None:
        super().__init__(variable)
        self.variable = variable


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with every reference replaced; an ``Interpolated`` when any was."""
    if "${" not in text:
        return text

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = environ.get(name)
        if value is None:
            if default is None:
                raise UnsetVariableError(name)
            return default
        return value

    return Interpolated(_REFERENCE.sub(substitute, text))
