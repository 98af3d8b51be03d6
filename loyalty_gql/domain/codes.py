"""Codes customers type in: vouchers and coupons."""

from __future__ import annotations

import secrets

# No look-alikes (0/O, 1/I), so codes survive being read out and typed in.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def random_code(length: int) -> str:
    """A random code of ``length`` characters from CODE_ALPHABET."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
