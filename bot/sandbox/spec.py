"""The official Bot API description (api.json): where to find it and what it says about a call."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["ApiSpec", "FieldSpec", "SpecMissingError", "find_spec_path"]

# Vendored from the official Bot API description (MIT, see LICENSE beside it).
VENDORED_SPEC = Path(__file__).resolve().parent / "telegram_bot_api" / "api.json"
# Parsed specs by (path, mtime): api.json is ~1 MB and every sandbox in a test run reads it.
_cache: dict[tuple[str, float], ApiSpec] = {}


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type, as api.json describes it."""

    name: str
    types: tuple[str, ...]
    required: bool


class ApiSpec:
    """Methods and types of the Bot API, indexed for quick look-ups."""

    def __init__(self, raw: dict[str, Any], source: Path | None = None) -> None:
        self.source = source
        self.version = str(raw.get("version", ""))
        self.methods: dict[str, dict[str, FieldSpec]] = {}
        self.types: dict[str, dict[str, FieldSpec]] = {}
        self.subtypes: dict[str, tuple[str, ...]] = {}
        for name, method in raw.get("methods", {}).items():
            self.methods[name] = _fields(method)
        for name, type_ in raw.get("types", {}).items():
            self.types[name] = _fields(type_)
            if type_.get("subtypes"):
                self.subtypes[name] = tuple(type_["subtypes"])
        # Method names are case-insensitive in the Bot API.
        self._by_lower = {name.lower(): name for name in self.methods}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ApiSpec:
        """Read api.json from ``path`` (raises OSError / ValueError when it is unusable)."""
        source = Path(path).resolve()
        key = (str(source), source.stat().st_mtime)
        cached = _cache.get(key)
        if cached is not None:
            return cached
        with source.open(encoding="utf-8") as handle:
            raw = json.load(handle)
        if not isinstance(raw, dict) or "methods" not in raw or "types" not in raw:
            raise ValueError(f"{source} does not look like the Bot API description")
        spec = _cache[key] = cls(raw, source)
        return spec

    def canonical_method(self, name: str) -> str | None:
        """The method's spelling in the spec, or None if the spec has no such method."""
        return self._by_lower.get(name.lower())

    def method_fields(self, method: str) -> dict[str, FieldSpec]:
        """Parameters of ``method`` by name (empty if unknown)."""
        return self.methods.get(method, {})

    def type_fields(self, type_name: str) -> dict[str, FieldSpec]:
        """Fields of ``type_name`` by name (empty if unknown or an abstract union)."""
        return self.types.get(type_name, {})


def _fields(entry: dict[str, Any]) -> dict[str, FieldSpec]:
    return {
        f["name"]: FieldSpec(f["name"], tuple(f.get("types", ())), bool(f.get("required")))
        for f in entry.get("fields", [])
    }


def find_spec_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The api.json to use: ``explicit``, else $TELEGRAM_API_SPEC, else the repository's copy."""
    if explicit is not None:
        return Path(explicit)
    from_env = os.environ.get("TELEGRAM_API_SPEC")
    if from_env:
        return Path(from_env)
    return VENDORED_SPEC


def load_spec(explicit: str | os.PathLike[str] | None = None) -> ApiSpec:
    """Load the spec; a missing or unusable one stops the sandbox, so no call goes unchecked."""
    path = find_spec_path(explicit)
    try:
        return ApiSpec.load(path)
    except (OSError, ValueError) as exc:
        raise SpecMissingError(
            f"Bot API spec api.json is missing or unusable at {path} ({exc}); "
            "the sandbox checks every call against it and will not run without it"
        ) from exc


class SpecMissingError(RuntimeError):
    """The Bot API description the sandbox checks calls against cannot be read."""
