"""Validated names: the only request fields that reach generated code as code.

Everything else (descriptions) reaches code only as escaped literals or comments.
A name must be a plain ASCII identifier, not a Python keyword, and short: that
makes injection through it impossible by construction.
"""

from __future__ import annotations

import keyword
import re
from typing import Annotated

from pydantic import AfterValidator

_PASCAL_OR_SNAKE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_UNDERSCORES = re.compile(r"__+")


def _check_identifier(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} must match {pattern.pattern} (ASCII letters, digits, _)"
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        raise ValueError(f"{what} {value!r} is a Python keyword; choose another name")
    if "__" in value:
        raise ValueError(f"{what} {value!r} must not contain a double underscore")
    return value


def _node_name(value: str) -> str:
    return _check_identifier(value, _PASCAL_OR_SNAKE, "name")


def _snake_name(value: str) -> str:
    return _check_identifier(value, _SNAKE, "name")


def _request_id(value: str) -> str:
    if not _REQUEST_ID.fullmatch(value):
        raise ValueError(
            f"request_id {value!r} must be 1-128 characters of letters, digits, '.', '_', ':', '-'"
        )
    return value


NodeName = Annotated[str, AfterValidator(_node_name)]
SnakeName = Annotated[str, AfterValidator(_snake_name)]
RequestId = Annotated[str, AfterValidator(_request_id)]


def pascal_case(name: str) -> str:
    """``user_store`` or ``userStore`` -> ``UserStore``; ``UserStore`` stays."""
    parts = [p for p in name.split("_") if p]
    return "".join(p[0].upper() + p[1:] for p in parts)


def snake_case(name: str) -> str:
    """``UserStore`` -> ``user_store``; ``user_store`` stays.

    An underscore goes in before each capital that follows a lower-case letter or a
    digit; the replacements are plain text (a group reference in the replacement is
    expanded in Python for every match, and a package asks for several of these).
    """
    return _UNDERSCORES.sub("_", _WORD_START.sub("_", name)).lower()
