"""One base exception for everything the book reports to a reader or contributor.

Every message names what is wrong and where (file, CSV line, column or parameter) and what is
allowed, so the fix is in the message.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class OsteobookError(ValueError):
    """Base class: a problem the book can explain."""


class ParameterError(OsteobookError):
    """A parameter or argument is unknown, of the wrong type, or outside its allowed values."""


class DataError(OsteobookError):
    """A data file (registry download or curated table) is missing, malformed or not the declared file."""


class ChapterFailed(OsteobookError):
    """A chapter's notebook raised: the message names the chapter, the cell and the traceback."""


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return `value` if it is one of `allowed`; else raise naming the parameter and the allowed values."""
    allowed = list(allowed)
    if value not in allowed:
        raise ParameterError(f"parameter {name!r} = {value!r} is not allowed (allowed: {', '.join(map(repr, allowed))})")
    return value
