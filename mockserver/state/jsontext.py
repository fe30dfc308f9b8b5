"""JSON text read with the elements of one kind of array converted as soon as each is parsed.

`json.loads` builds the whole document before anything can be done with it. A state document
of 100,000 backups is 70 MB of text and about 200 MB of dicts; CPython's allocator keeps the
memory of those dicts once they are freed, because the objects made from them sit among it.
Converting each backup as it is read frees its dict at once, and its memory is reused for the
next one. Everything else is decoded by the json module itself, with the same results.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace
_decode = json.JSONDecoder().raw_decode
_string: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_ANY = "*"


Paths = tuple[tuple[str, ...], ...]


def loads(text: str, paths: Sequence[Sequence[str]], convert: Callable[[Any], Any]) -> Any:
    """`json.loads(text)`, where each element of an array found at one of `paths` (object keys
    from the top, "*" for any key) is replaced by `convert(element)` as soon as it is parsed."""
    value, end = _value(text, _skip(text, 0), tuple(tuple(path) for path in paths), convert)
    end = _skip(text, end)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _skip(text: str, position: int) -> int:
    found = _SPACE.match(text, position)
    return position if found is None else found.end()


def _value(
    text: str, position: int, paths: Paths, convert: Callable[[Any], Any]
) -> tuple[Any, int]:
    if position < len(text) and paths:
        if () in paths and text[position] == "[":
            return _array(text, position, convert)
        if text[position] == "{":
            return _object(text, position, tuple(p for p in paths if p), convert)
    return _decode(text, position)  # anything else, off the path, is decoded whole


def _object(
    text: str, position: int, paths: Paths, convert: Callable[[Any], Any]
) -> tuple[dict[str, Any], int]:
    found: dict[str, Any] = {}
    position = _skip(text, position + 1)
    if text.startswith("}", position):
        return found, position + 1
    while True:
        if not text.startswith('"', position):
            raise json.JSONDecodeError(
                "Expecting property name enclosed in double quotes", text, position
            )
        key, position = _string(text, position + 1)
        position = _skip(text, position)
        if not text.startswith(":", position):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, position)
        position = _skip(text, position + 1)
        below = tuple(p[1:] for p in paths if p[0] in (_ANY, key))
        if below:
            found[key], position = _value(text, position, below, convert)
        else:
            found[key], position = _decode(text, position)
        position = _skip(text, position)
        if text.startswith("}", position):
            return found, position + 1
        if not text.startswith(",", position):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
        position = _skip(text, position + 1)


def _array(text: str, position: int, convert: Callable[[Any], Any]) -> tuple[list[Any], int]:
    found: list[Any] = []
    position = _skip(text, position + 1)
    if text.startswith("]", position):
        return found, position + 1
    while True:
        element, position = _decode(text, position)
        found.append(convert(element))
        position = _skip(text, position)
        if text.startswith("]", position):
            return found, position + 1
        if not text.startswith(",", position):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
        position = _skip(text, position + 1)
