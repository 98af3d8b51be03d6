"""UNSET: a field a partial update does not mention, as distinct from None ("cleared")."""

from __future__ import annotations

from enum import Enum
from typing import Final


class Unset(Enum):
    """The type of UNSET (an enum of one, so type checkers narrow ``x is UNSET``)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
"""Not given: the stored value stays."""
