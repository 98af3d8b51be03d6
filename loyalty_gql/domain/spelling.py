"""How one name is spelled on each side: the code speaks snake_case (``points_taken_back``),
JSON sent to shops (webhook payloads) speaks camelCase (``pointsTakenBack``).

Both conversions are idempotent, so data stored in either spelling reads the same.
"""

from __future__ import annotations

import re
from typing import Any

_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def camel(name: str) -> str:
    """``points_taken_back`` -> ``pointsTakenBack``; camelCase names pass unchanged."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """``pointsTakenBack`` -> ``points_taken_back``; snake_case names pass unchanged."""
    return _HUMP.sub(r"_\1", name).lower()


def camel_keys(value: Any) -> Any:
    """``value`` with every mapping key (nested in mappings and lists too) in camelCase."""
    return _rekey(value, camel)


def snake_keys(value: Any) -> Any:
    """``value`` with every mapping key (nested in mappings and lists too) in snake_case."""
    return _rekey(value, snake)


def _rekey(value: Any, spell: Any) -> Any:
    if isinstance(value, dict):
        return {spell(k) if isinstance(k, str) else k: _rekey(v, spell) for k, v in value.items()}
    if isinstance(value, list):
        return [_rekey(v, spell) for v in value]
    return value
