"""The text checks every gamification input shares: names, descriptions, codes, URLs."""

from __future__ import annotations

import re

from loyalty_gql.domain.errors import ErrorCode, FieldProblem

MAX_NAME = 100
MAX_DESCRIPTION = 2000
MAX_URL = 2000
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def name_problems(name: str, path: tuple[str, ...] = ("name",)) -> list[FieldProblem]:
    """A name is 1 to MAX_NAME characters, not only spaces."""
    if not name.strip():
        return [FieldProblem(path, ErrorCode.REQUIRED, "must not be empty")]
    if len(name) > MAX_NAME:
        return [FieldProblem(path, ErrorCode.INVALID_VALUE, f"at most {MAX_NAME} characters")]
    return []


def description_problems(text: str, path: tuple[str, ...]) -> list[FieldProblem]:
    """A description is at most MAX_DESCRIPTION characters (it may be empty)."""
    if len(text) > MAX_DESCRIPTION:
        return [
            FieldProblem(path, ErrorCode.INVALID_VALUE, f"at most {MAX_DESCRIPTION} characters")
        ]
    return []


def code_problems(code: str, path: tuple[str, ...] = ("code",)) -> list[FieldProblem]:
    """A code is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit."""
    if not CODE.match(code):
        return [
            FieldProblem(
                path,
                ErrorCode.INVALID_VALUE,
                "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
            )
        ]
    return []


def url_problems(url: str | None, path: tuple[str, ...]) -> list[FieldProblem]:
    """An image URL is http(s) and at most MAX_URL characters."""
    if url is not None and (len(url) > MAX_URL or not url.startswith(("https://", "http://"))):
        return [
            FieldProblem(
                path,
                ErrorCode.INVALID_VALUE,
                f"must be an http(s) URL of at most {MAX_URL} characters",
            )
        ]
    return []
