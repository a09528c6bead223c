"""One guard for JSON from outside: the list editor's endpoints, the HubSpot webhook and the
criteria themselves (``ContactList.full_clean`` calls :func:`inspect` through the engine).

Python's ``json`` recurses once per level of nesting and ``int()`` refuses more than 4,300
digits, so a 10 kB document of brackets or one long number is a ``RecursionError`` or a
``ValueError`` (a 500) before any validation runs. Here every check runs before anything
recurses, in this order:

==================  ===========================================================  ==========
check               how                                                          refused as
==================  ===========================================================  ==========
``Content-Length``  ASCII digits only, at most the limit, before the body is read  400 / 413
size                bytes (or characters) counted                                413
encoding            UTF-8, -16 or -32, as JSON allows; nothing undecodable        400
depth               brackets counted outside strings on the raw text, iteratively  400
numbers             the decoder's hooks see each number's text first: a long one    400
                    never reaches ``int()``; NaN, Infinity and 1e999 are refused
                    (not JSON, and PostgreSQL's ``jsonb`` refuses them)
a Python value      :func:`inspect` walks it with an explicit stack: depth, number  the first
                    size, JSON types only, text PostgreSQL can store (no NUL, no    problem and
                    lone surrogate)                                                 its path
==================  ===========================================================  ==========

A caller that can say *where* a problem is in its own words (the criteria: "Group 2, filter 1")
loads with ``check=False``: oversized numbers are then kept as :class:`OversizedNumber` and the
caller's :func:`inspect` reports them with their path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

MAX_BYTES = 1024 * 1024
# Far above any document this product reads (criteria: about 25 levels at the engine's own
# limit of 10 levels of branches; webhook events: 3) and far below the interpreter's recursion
# limit, so json.loads and json.dumps never come near it.
MAX_DEPTH = 64
# Longer than any id, count or amount; an integer under 10**100 also fits a float.
MAX_NUMBER_DIGITS = 100

_INT_LIMIT = 10**MAX_NUMBER_DIGITS
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")
_STRUCTURE = re.compile(r'[\[\]{}"]')
# The rest of a string after its opening quote, up to (not including) its closing quote.
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class JsonRefused(Exception):
    """The input is refused; ``message`` says why (translated), ``status`` is the HTTP answer."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class OversizedNumber:
    """A number too long or too large to read, kept in place (``loads(check=False)``) so that
    :func:`inspect` can say where it is."""

    digits: int

    def __repr__(self) -> str:
        return f"<number of {self.digits} characters>"


@dataclass(frozen=True)
class Problem:
    """What :func:`inspect` found: where (keys and indexes from the top) and why."""

    path: tuple[str | int, ...]
    message: str
    too_deep: bool = False


# --- HTTP ---------------------------------------------------------------------------------------


def content_length_check(request: HttpRequest, *, max_bytes: int | None = MAX_BYTES) -> None:
    """Refuse (:class:`JsonRefused`) a ``Content-Length`` that is not ASCII digits, or above
    ``max_bytes`` (None: any size, left to Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``).

    Django reads the header with ``int()`` when the body is first read, so a header like
    ``abc`` must be refused before ``request.body`` is touched (gunicorn refuses it itself; the
    development server passes it on).
    """
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return
    text = str(raw).strip()
    if not _CONTENT_LENGTH.fullmatch(text):
        raise JsonRefused(_("The Content-Length header is not a number of bytes."))
    if max_bytes is not None and int(text) > max_bytes:
        raise _too_large(max_bytes)


class ContentLengthMiddleware:
    """Answers 400 to any request whose ``Content-Length`` is not a number of bytes.

    Django reads the header with ``int()`` when a view first reads the body (``request.POST``
    of any form), so on the development server, which passes the header on as sent, ``abc``
    is a 500. Install it first in ``MIDDLEWARE``, before anything reads the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            content_length_check(request, max_bytes=None)
        except JsonRefused as exc:
            if request.content_type == "application/json":
                # A JSON endpoint (the list editor's) answers in its own format.
                return JsonResponse(
                    {"ok": False, "errors": [{"message": str(exc.message), "group": None, "filter": None}]},
                    status=400,
                )
            return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def body_of(request: HttpRequest, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The request's body, after :func:`content_length_check`; :class:`JsonRefused` otherwise."""
    content_length_check(request, max_bytes=max_bytes)
    try:
        body = request.body
    except RequestDataTooBig:
        raise _too_large(max_bytes) from None
    if len(body) > max_bytes:
        raise _too_large(max_bytes)
    return body


def request_json(
    request: HttpRequest, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH, check: bool = True
) -> Any:
    """The request's body as JSON: :func:`body_of`, then :func:`loads`."""
    return loads(body_of(request, max_bytes=max_bytes), max_bytes=max_bytes, max_depth=max_depth, check=check)


def _too_large(max_bytes: int) -> JsonRefused:
    return JsonRefused(
        _("This is too large: at most %(size)s kB are accepted.") % {"size": max(1, max_bytes // 1024)}, status=413
    )


# --- text ---------------------------------------------------------------------------------------


def loads(
    data: bytes | str,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    check: bool = True,
    storable_text: bool = True,
) -> Any:
    """``json.loads`` that cannot fail other than with :class:`JsonRefused`.

    With ``check`` (the default) the value is also :func:`inspect`-ed, so it holds JSON types
    only; without, oversized numbers are left as :class:`OversizedNumber` for the caller's own
    :func:`inspect` (which names the place in its own terms). ``storable_text`` is passed on.
    """
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode(json.detect_encoding(data))
        except (UnicodeDecodeError, LookupError):
            raise JsonRefused(_("This is not valid JSON.")) from None
    else:
        text = data
    if nesting_depth(text, limit=max_depth) > max_depth:
        raise JsonRefused(_("The JSON is nested more than %(max)s levels deep (the limit).") % {"max": max_depth})
    try:
        value = json.loads(text, parse_int=_read_int, parse_float=_read_float, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        # RecursionError cannot happen below MAX_DEPTH; caught so that no input can be a 500.
        raise JsonRefused(_("This is not valid JSON.")) from None
    if check:
        problem = inspect(value, max_depth=max_depth, storable_text=storable_text)
        if problem is not None:
            raise JsonRefused(
                _("Refused at %(path)s: %(problem)s") % {"path": json_path(problem.path), "problem": problem.message}
            )
    return value


def nesting_depth(text: str, *, limit: int = MAX_DEPTH) -> int:
    """How deep arrays and objects nest in JSON text, counting brackets outside strings.

    Stops as soon as ``limit`` is passed (returns ``limit + 1``), or where the text stops being
    JSON (an unmatched closing bracket, an unterminated string): the decoder stops there too,
    so it never nests deeper than what is counted here.
    """
    depth = deepest = 0
    position = 0
    end = len(text)
    search = _STRUCTURE.search
    rest_of_string = _STRING_REST.match
    while True:
        found = search(text, position)
        if found is None:
            return deepest
        char = found.group()
        position = found.end()
        if char == '"':
            closing = rest_of_string(text, position).end()
            if closing >= end or text[closing] != '"':
                return deepest
            position = closing + 1
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        else:
            depth -= 1
            if depth < 0:
                return deepest


def _read_int(token: str) -> int | OversizedNumber:
    if len(token) - token.startswith("-") > MAX_NUMBER_DIGITS:
        return OversizedNumber(len(token))
    return int(token)


def _read_float(token: str) -> float | OversizedNumber:
    if len(token) > MAX_NUMBER_DIGITS:
        return OversizedNumber(len(token))
    value = float(token)
    return value if math.isfinite(value) else OversizedNumber(len(token))


def _refuse_constant(token: str) -> None:
    raise ValueError(f"{token} is not JSON")


# --- values -------------------------------------------------------------------------------------


def inspect(value: Any, *, max_depth: int = MAX_DEPTH, storable_text: bool = True) -> Problem | None:
    """A problem of a JSON-like Python value (the first one found), or None.

    Walks with an explicit stack (no recursion, whatever the depth): arrays (lists, tuples) and
    objects nested at most ``max_depth`` deep, text keys, integers under 10**100, finite floats,
    strings, booleans and None only; with ``storable_text``, strings and keys without NUL or a
    lone surrogate (PostgreSQL cannot store them, and SQLite cannot bind a lone surrogate).
    """
    if not isinstance(value, dict | list | tuple):
        message = _scalar_problem(value, storable_text)
        return Problem((), message) if message else None
    # Each entry: (container, containers above it, link) where link is (parent's link, key):
    # a path is only built for the problem found.
    stack: list[tuple[Any, int, Any]] = [(value, 0, None)]
    while stack:
        node, above, link = stack.pop()
        if above >= max_depth:
            message = _("nested more than %(max)s levels deep (the limit).") % {"max": max_depth}
            return Problem(_path(link), message, too_deep=True)
        is_object = isinstance(node, dict)
        containers = []
        for key, child in node.items() if is_object else enumerate(node):
            if is_object:
                if not isinstance(key, str):
                    return Problem(_path(link), _("a key is not text: %(key)s.") % {"key": _short(repr(key))})
                if storable_text and _UNSTORABLE.search(key):
                    return Problem(_path((link, key)), _unstorable())
            if isinstance(child, dict | list | tuple):
                containers.append((child, above + 1, (link, key)))
            else:
                message = _scalar_problem(child, storable_text)
                if message:
                    return Problem(_path((link, key)), message)
        stack.extend(reversed(containers))
    return None


def _scalar_problem(value: Any, storable_text: bool) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _unstorable() if storable_text and _UNSTORABLE.search(value) else None
    if isinstance(value, int):
        return None if -_INT_LIMIT < value < _INT_LIMIT else _too_long_number()
    if isinstance(value, float):
        return None if math.isfinite(value) else _too_long_number()
    if isinstance(value, OversizedNumber):
        return _too_long_number()
    return _("%(type)s is not a JSON value.") % {"type": type(value).__name__}


def _too_long_number() -> str:
    return _("a number is too large or has more than %(max)s digits (the limit).") % {"max": MAX_NUMBER_DIGITS}


def _unstorable() -> str:
    return _("the text holds a character that cannot be stored (NUL or an unpaired surrogate).")


def _path(link: Any) -> tuple[str | int, ...]:
    keys: list[str | int] = []
    while link is not None:
        link, key = link
        keys.append(key)
    return tuple(reversed(keys))


def json_path(path: tuple[str | int, ...]) -> str:
    """``$.events[0].objectId``: a path as people read it in messages."""
    parts = ["$"]
    for key in path:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _NAME.fullmatch(key):
            parts.append(f".{key}")
        else:
            parts.append(f"[{_short(json.dumps(key))}]")
    return _short("".join(parts), 200)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
