"""JSON text read with the elements of one kind of array converted as soon as each is parsed.

`json.loads` builds the whole document before anything can be done with it. A state document
of 100,000 backups is 70 MB of text and about 200 MB of dicts; CPython's allocator keeps the
memory of those dicts once they are freed, because the objects made from them sit among it.
Converting each backup as it is read frees its dict at once, and its memory is reused for the
next one.

The text is parsed by ijson's C backend, yajl2_c (imported by name: never ijson's pure-Python
parser in its place), which reads UTF-8 bytes 64 KiB at a time and hands on one event a token;
the values are built here from those events. It replaced a hand-written parser around
`json.JSONDecoder.raw_decode`, and was kept on these figures (bench/seed.py's state of 100,000
backups, 69 MB, read with `backup_reader()`; best of three on a shared two-core machine):

                                     raw_decode (before)   ijson (now)
    CPU time of `loads`              1.95 s                2.35 s (the events are built in Python)
    tracemalloc peak, past the body  +125 MiB (the str)    +60 MiB given the bytes, +126 the str
    ru_maxrss, past the body         +130 MiB              +64 MiB given the bytes, +130 the str

+60 MiB is what `loads` returns; the rest before was the str decoded from the body. The whole
PUT /__mock/state gains nothing from it yet: over 9 PUTs of each, the server's VmHWM was 605 MiB
either way (once 646 and once 657 with ijson), already 484 MiB when the handler starts (the
request validation parses the body whole), and its CPU time 5.6 s before, 6.2 s now (medians).
20% more CPU here was taken for a maintained parser in place of our own, and for the memory
of a reader given bytes.

What `loads` returns is what `json.loads` returns, but for these, refused with JSONTextError (a
ValueError, as json.JSONDecodeError is), where json.loads reads them:
- NaN, Infinity and -Infinity, which are not JSON (the control API's validation refuses them
  before this too);
- an integer beyond +-9223372036854775807, or a number beyond a double's range (1e400):
  ijson's `use_float=True` has yajl read numbers as C's long long and double (non-integers
  come out as float, as from json.loads). Its other mode, Decimal and ints of any size, is not
  used: an integer of more than 4300 digits makes ijson 3.6's yajl2_c raise SystemError from
  `basic_parse` and crash the process from `items`, where json.loads raises ValueError;
- an unpaired surrogate escape ("\\ud800"), which yajl reads as "?" (and "\\ud800\\u0041" as one
  character), where json.loads keeps the lone surrogate.
Refused as json.loads refuses them, though yajl would read them (checked before parsing):
a vertical tab or form feed, which yajl takes for whitespace; and text after the document
that is a string with no end (`{} "x`), which yajl's last look at the text lets through.
Duplicate keys: the last one wins, at the place of the first, as in json.loads.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, AnyStr

try:
    # By name: `import ijson` takes the first backend it can import, or the one that
    # $IJSON_BACKEND names, the pure-Python one included (about ten times slower).
    from ijson.backends import yajl2_c as _yajl2_c  # type: ignore[import-untyped]
    from ijson.common import JSONError as _IJSONError  # type: ignore[import-untyped]
except ImportError as error:
    raise ImportError(
        "ijson's C backend (ijson.backends.yajl2_c) cannot be imported; the state document"
        " reader needs it: reinstall ijson (a wheel for this platform, or a build with a C"
        f" compiler): {error}"
    ) from error

_ANY = "*"
# A backslash escape: a surrogate pair, an unpaired surrogate (group 1), or any other escape.
_ESCAPE = (
    r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|(u[dD][89a-fA-F][0-9a-fA-F]{2})|.)"
)
_ESCAPES = re.compile(_ESCAPE, re.DOTALL)
_BYTE_ESCAPES = re.compile(_ESCAPE.encode(), re.DOTALL)

Paths = tuple[tuple[str, ...], ...]
Events = Iterator[tuple[str, Any]]


class JSONTextError(ValueError):
    """The text is not JSON that `loads` reads; the message says why (and where, if known)."""


def loads(text: str | bytes, paths: Sequence[Sequence[str]], convert: Callable[[Any], Any]) -> Any:
    """`json.loads(text)`, where each element of an array found at one of `paths` (object keys
    from the top, "*" for any key) is replaced by `convert(element)` as soon as it is parsed.
    Bytes are read as UTF-8 where they are; a str is encoded a chunk at a time, not whole."""
    if isinstance(text, bytes):
        refused = _misread(text, _BYTE_ESCAPES, b"\\", b'"', (b"\x0b", b"\x0c"))
        source: Any = io.BytesIO(text)  # shares the bytes: no copy
    else:
        refused = _misread(text, _ESCAPES, "\\", '"', ("\x0b", "\x0c"))
        source = _Utf8(text)
    if refused:
        raise JSONTextError(refused)
    events: Events = _yajl2_c.basic_parse(source, use_float=True)
    try:
        event, value = next(events)
        document = _value(events, event, value, tuple(tuple(path) for path in paths), convert)
        for _ in events:  # what follows the document: whitespace, or the parser's error
            raise AssertionError("an event after the document")  # pragma: no cover
    except _IJSONError as error:
        raise JSONTextError(_message(error)) from None
    except UnicodeError as error:  # a str with a lone surrogate; or bytes with one encoded
        raise JSONTextError(f"not UTF-8: {error}") from None  # (ED A0 80), which yajl passes
    except RecursionError:
        raise JSONTextError("JSON nested too deeply") from None
    return document


def _misread(
    text: AnyStr,
    escapes: re.Pattern[AnyStr],
    backslash: AnyStr,
    quote: AnyStr,
    controls: tuple[AnyStr, ...],
) -> str:
    """Why yajl would read `text` otherwise than json.loads does ("" if it would not): a few
    scans at C speed, about 60 ms over a 70 MB document without escapes."""
    for control in controls:
        at = text.find(control)
        if at >= 0:
            return f"a vertical tab or form feed at offset {at}: not JSON's whitespace"
    escaped_quotes = 0
    if backslash in text:  # no backslash, no escape: the usual case
        for found in escapes.finditer(text):
            surrogate = found[1]
            if surrogate:
                shown = surrogate.decode() if isinstance(surrogate, bytes) else surrogate
                return f"unpaired surrogate escape \\{shown} at offset {found.start()}"
            escaped_quotes += found[0] == backslash + quote
    # A string is two quotes, and outside strings there is none: an odd count leaves a
    # string open, which yajl does not see when it comes after the document.
    if (text.count(quote) - escaped_quotes) % 2:
        return "a string with no end"
    return ""


class _Utf8:
    """A str read as UTF-8 bytes, a chunk at a time (the parser asks for 64 KiB)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._at = 0

    def read(self, size: int) -> bytes:
        chunk = self._text[self._at : self._at + size]
        self._at += size
        return chunk.encode("utf-8")


def _message(error: Exception) -> str:
    """yajl's message on one line: what it found, and the text around where it stopped."""
    raw = error.args[0] if error.args else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    lines = [line.strip() for line in text.splitlines()]
    message = lines[0].rstrip(".") if lines and lines[0] else "malformed JSON"
    if len(lines) > 1 and lines[1]:
        message += f", near {lines[1]!r}"
    return message


def _value(
    events: Events, event: str, value: Any, paths: Paths, convert: Callable[[Any], Any]
) -> Any:
    """The value that starts with (event, value), with the arrays at `paths` converted."""
    if event == "start_array" and () in paths:
        found: list[Any] = []
        for event, value in events:
            if event == "end_array":
                return found
            found.append(convert(_plain(events, event, value)))
    if event == "start_map" and paths:
        inner = tuple(path for path in paths if path)
        mapping: dict[str, Any] = {}
        for event, key in events:
            if event == "end_map":
                return mapping
            below = tuple(path[1:] for path in inner if path[0] == _ANY or path[0] == key)
            event, value = next(events)
            if below:
                mapping[key] = _value(events, event, value, below, convert)
            else:
                mapping[key] = _plain(events, event, value)
    return _plain(events, event, value)


def _plain(events: Events, event: str, value: Any) -> Any:
    """The value that starts with (event, value), off the paths: as json.loads builds it."""
    if event == "start_map":
        return _map(events)
    if event == "start_array":
        return _array(events)
    return value


# Where the time goes (about 50 events a backup): a loop a container, a call a nested one.


def _map(events: Events) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for event, key in events:  # "map_key", or "end_map"
        if event == "end_map":
            return found
        event, value = next(events)
        if event == "start_map":
            value = _map(events)
        elif event == "start_array":
            value = _array(events)
        found[key] = value
    raise AssertionError("the parser ended inside an object")  # pragma: no cover


def _array(events: Events) -> list[Any]:
    found: list[Any] = []
    for event, value in events:
        if event == "end_array":
            return found
        if event == "start_map":
            found.append(_map(events))
        elif event == "start_array":
            found.append(_array(events))
        else:
            found.append(value)
    raise AssertionError("the parser ended inside an array")  # pragma: no cover
