"""Typed reading of a parsed YAML tree that collects problems with their key paths.

Every accessor returns a usable value even when the input is wrong (the default, or
an empty value) and records ``"<key path>: <problem>"``, so ``check-config`` can show
every problem at once and the loader can refuse to start if there is any.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from core.durations import parse_duration
from core.interpolation import Interpolated, UnsetVariableError, interpolate

T = TypeVar("T")
REQUIRED: Any = object()


class ConfigReader:
    """One mapping of the config tree, at ``path``."""

    def __init__(
        self, data: object, path: str, problems: list[str], environ: Mapping[str, str]
    ) -> None:
        self._path = path
        self._problems = problems
        self._environ = environ
        self._seen: set[str] = set()
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.problem("", "must be a mapping")
            data = {}
        self._data: Mapping[str, object] = data

    def key_path(self, key: str) -> str:
        """The full path of ``key`` below this mapping (``sources[1].secrets``)."""
        if not key:
            return self._path or "(top level)"
        if key.startswith("["):
            return f"{self._path}{key}"
        return f"{self._path}.{key}" if self._path else key

    def problem(self, key: str, message: str) -> None:
        """Record a problem at ``key``."""
        self._problems.append(f"{self.key_path(key)}: {message}")

    def has(self, key: str) -> bool:
        """Whether ``key`` is present (and not null)."""
        return self._data.get(key) is not None

    def _raw(self, key: str, default: object) -> object:
        self._seen.add(key)
        value = self._data.get(key)
        if value is None:
            if default is REQUIRED:
                self.problem(key, "required")
            return default
        return self._resolve(key, value)

    def _resolve(self, key: str, value: object) -> object:
        if isinstance(value, str):
            try:
                return interpolate(value, self._environ)
            except UnsetVariableError as e:
                self.problem(key, f"environment variable {e.variable} is not set")
                return REQUIRED
        return value

    def text(self, key: str, default: str = REQUIRED, min_length: int = 0) -> str:
        """A string value of at least ``min_length`` characters."""
        value = self._raw(key, default)
        if value is REQUIRED:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(key, "must be a string")
            return ""
        if len(str(value)) < min_length:
            self.problem(key, f"must be at least {min_length} characters")
        return str(value)

    def optional_text(self, key: str) -> str | None:
        """A string value, or None when absent."""
        if not self.has(key):
            self._seen.add(key)
            return None
        return self.text(key)

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        """An integer of at least ``minimum``."""
        value = self._number(key, default, int)
        if value < minimum:
            self.problem(key, f"must be at least {minimum}")
            return default
        return int(value)

    def number(self, key: str, default: float, minimum: float = 0.0) -> float:
        """A number of at least ``minimum``."""
        value = self._number(key, default, float)
        if value < minimum:
            self.problem(key, f"must be at least {minimum:g}")
            return default
        return float(value)

    def _number(self, key: str, default: float, kind: type[int] | type[float]) -> float:
        value = self._raw(key, default)
        if value is REQUIRED:
            return default
        if isinstance(value, Interpolated):
            try:
                return kind(value)
            except ValueError:
                self.problem(key, f"must be {'an integer' if kind is int else 'a number'}")
                return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(key, f"must be {'an integer' if kind is int else 'a number'}")
            return default
        if kind is int and not isinstance(value, int):
            self.problem(key, "must be an integer")
            return default
        return value

    def optional_number(self, key: str, minimum: float = 0.0) -> float | None:
        """A number of at least ``minimum``, or None when absent."""
        if not self.has(key):
            self._seen.add(key)
            return None
        return self.number(key, minimum, minimum)

    def optional_integer(self, key: str, minimum: int = 0) -> int | None:
        """An integer of at least ``minimum``, or None when absent."""
        if not self.has(key):
            self._seen.add(key)
            return None
        return self.integer(key, minimum, minimum)

    def boolean(self, key: str, default: bool) -> bool:
        """A boolean (``${VAR}`` values ``true``/``false`` accepted)."""
        value = self._raw(key, default)
        if isinstance(value, Interpolated) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.problem(key, "must be true or false")
            return default
        return value

    def duration(self, key: str, default: float) -> float:
        """A duration (``300s``, ``12h``, ``5d`` or seconds) in seconds."""
        value = self._raw(key, default)
        if isinstance(value, bool):
            self.problem(key, "must be a duration such as 300s, 12h, 5d or a number of seconds")
            return default
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(str(value))
        except ValueError as e:
            self.problem(key, str(e))
            return default

    def strings(
        self, key: str, default: tuple[str, ...] = (), min_length: int = 1
    ) -> tuple[str, ...]:
        """A list of strings of at least ``min_length`` characters each."""
        value = self._raw(key, default)
        if value is REQUIRED:
            return ()
        if not isinstance(value, list | tuple):
            self.problem(key, "must be a list of strings")
            return default
        result = []
        for index, item in enumerate(value):
            resolved = self._resolve(f"{key}[{index}]", item)
            if resolved is REQUIRED:
                continue
            if not isinstance(resolved, str) or not resolved:
                self.problem(f"{key}[{index}]", "must be a non-empty string")
                continue
            if len(resolved) < min_length:
                self.problem(f"{key}[{index}]", f"must be at least {min_length} characters")
                continue
            result.append(resolved)
        return tuple(result)

    def mapping(self, key: str) -> dict[str, object]:
        """A free-form mapping whose string leaves are interpolated."""
        value = self._raw(key, {})
        if not isinstance(value, Mapping):
            self.problem(key, "must be a mapping")
            return {}
        return {str(name): self._resolve(f"{key}.{name}", item) for name, item in value.items()}

    def section(self, key: str) -> ConfigReader:
        """The nested mapping at ``key`` (empty when absent)."""
        self._seen.add(key)
        return ConfigReader(self._data.get(key), self.key_path(key), self._problems, self._environ)

    def entries(self, key: str) -> list[ConfigReader]:
        """The list of mappings at ``key``, one reader each."""
        self._seen.add(key)
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(key, "must be a list")
            return []
        return [
            ConfigReader(item, self.key_path(f"{key}[{index}]"), self._problems, self._environ)
            for index, item in enumerate(value)
        ]

    def reject_unknown(self) -> None:
        """Record every key of this mapping that no accessor asked for."""
        for key in self._data:
            if key not in self._seen:
                self.problem(str(key), "unknown key")
