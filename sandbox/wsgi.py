"""A tiny router and request/response helpers for the sandbox's WSGI apps.

Usage::

    router = Router(error_renderer=my_error_renderer)

    @router.route("GET", r"/crm/v3/objects/contacts/(?P<contact_id>[^/]+)")
    def get_contact(request: Request, contact_id: str) -> Response:
        return json_response(200, {...})

    app = router  # a WSGI callable

- Patterns are full-match regular expressions on ``PATH_INFO``; named groups become keyword
  arguments of the handler.
- ``before`` hooks run in order before the handler (auth, fault injection, rate limits); the
  first one that returns a ``Response`` short-circuits. ``after`` hooks may add headers to every
  response (e.g. rate-limit or API-usage headers). Routes registered with ``public=True`` (the
  ``/_sandbox/`` control endpoints, OAuth token endpoints) skip the ``before`` hooks.
- A handler may raise ``HttpError``; it is rendered through ``error_renderer`` so each emulator
  answers in its own service's error shape. Unknown paths give 404, a known path with another
  method 405, a method no route offers (``TRACE``, an unknown word) 405 on every path, an
  unexpected exception 500, all through ``error_renderer`` and with an empty ``code``: each
  renderer names the status in its service's words (Salesforce ``METHOD_NOT_ALLOWED``, HubSpot's
  category for the status). A 405 says which methods the path has in ``Allow`` (RFC 9110 §15.5.6).
- ``Request.json()`` refuses, as a 400 ``VALIDATION_ERROR``, a body that is not UTF-8 JSON, and
  JSON whose strings hold a lone UTF-16 surrogate (``"\\ud800"``): Python's parser accepts those,
  and they would fail later, when the value is encoded to be stored or answered.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

logger = logging.getLogger(__name__)

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    207: "Multi-Status",
    300: "Multiple Choices",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Unknown')}"


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = "application/json;charset=utf-8"

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered]
        self.headers.append((name, value))


def json_response(status: int, data: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status=status, body=json.dumps(data, separators=(",", ":")).encode(), headers=list(headers))


def empty_response(status: int = 204, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status=status, body=b"", headers=list(headers), content_type=None)


def text_response(
    status: int, text: str, content_type: str = "text/plain;charset=utf-8", headers: Iterable[tuple[str, str]] = ()
) -> Response:
    return Response(status=status, body=text.encode(), headers=list(headers), content_type=content_type)


class DropConnection(Exception):  # noqa: N818 - it is an instruction, not an error
    """Raised to make the server close the connection without answering (a service that is down)."""


class HttpError(Exception):
    """Raised by handlers; rendered by the app's ``error_renderer`` in the service's shape.

    ``code`` is service-specific (HubSpot ``category``, Salesforce ``errorCode``); ``extra``
    carries anything else the renderer may want (field names, context...).
    """

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "",
        headers: Iterable[tuple[str, str]] = (),
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = list(headers)
        self.extra = extra


# A \uD800-\uDFFF escape in JSON text: the only way a lone surrogate gets into parsed JSON (raw
# UTF-8 cannot encode one, and the strict decoder refuses it).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_surrogate(value: Any) -> bool:
    """Whether any string of parsed JSON ``value`` (keys included) holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_json_body(body: bytes) -> Any:
    """``body`` as JSON, or ``HttpError(400)`` when it is not UTF-8 JSON text or holds a lone
    surrogate (an escaped surrogate pair is one character and is kept)."""
    try:
        value = json.loads(body.decode("utf-8-sig"))  # a byte order mark is tolerated, as before
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"Invalid JSON input: {exc}", code="VALIDATION_ERROR")
    if _SURROGATE_ESCAPE.search(body) is not None and _lone_surrogate(value):
        raise HttpError(
            400, "Invalid JSON input: a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)", code="VALIDATION_ERROR"
        )
    return value


class Request:
    """What a handler sees of the WSGI environ; the body is read once, lazily."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        self.path: str = environ.get("PATH_INFO", "") or "/"
        self.query_string: str = environ.get("QUERY_STRING", "")
        self._body: bytes | None = None
        self._query: dict[str, list[str]] | None = None
        # Free slot for hooks (e.g. the authenticated token, the fault chosen for this request).
        self.state: dict[str, Any] = {}

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            self._query = parse_qs(self.query_string, keep_blank_values=True)
        return self._query

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """All values of a repeated parameter, also splitting comma-separated ones."""
        result: list[str] = []
        for value in self.query.get(name, []):
            result.extend(part for part in value.split(",") if part)
        return result

    def header(self, name: str, default: str | None = None) -> str | None:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return self.environ.get(key) or default
        return self.environ.get(f"HTTP_{key}", default)

    @property
    def body(self) -> bytes:
        if self._body is None:
            stream = self.environ.get("wsgi.input")
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            self._body = stream.read(length) if stream is not None and length > 0 else b""
        return self._body

    def json(self) -> Any:
        """The JSON body; a malformed one raises ``HttpError(400)``."""
        if not self.body:
            raise HttpError(400, "Request body is empty; a JSON document was expected.", code="VALIDATION_ERROR")
        return parse_json_body(self.body)

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}


Handler = Callable[..., Response]
Hook = Callable[[Request], Response | None]
AfterHook = Callable[[Request, Response], None]
ErrorRenderer = Callable[[Request, HttpError], Response]


def default_error_renderer(request: Request, error: HttpError) -> Response:
    return json_response(error.status, {"message": error.message, "code": error.code}, error.headers)


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    public: bool


class Router:
    """A WSGI app dispatching on method + full-match regex of the path."""

    def __init__(self, error_renderer: ErrorRenderer = default_error_renderer) -> None:
        self.routes: list[_Route] = []
        self.before: list[Hook] = []
        self.after: list[AfterHook] = []
        self.error_renderer = error_renderer

    def route(self, method: str, pattern: str, *, public: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, pattern, handler, public=public)
            return handler

        return register

    def add(self, method: str, pattern: str, handler: Handler, *, public: bool = False) -> None:
        self.routes.append(_Route(method.upper(), re.compile(pattern), handler, public))

    def dispatch(self, request: Request) -> Response:
        offered = {route.method for route in self.routes}
        if request.method not in offered:
            # TRACE, CONNECT, a made-up word: the client's error on any path, never the server's.
            return self._not_allowed(request, sorted(offered))
        allowed: list[str] = []
        for route in self.routes:
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            try:
                if not route.public:
                    for hook in self.before:
                        early = hook(request)
                        if early is not None:
                            return early
                return route.handler(request, **match.groupdict())
            except HttpError as error:
                return self.error_renderer(request, error)
            except DropConnection:
                raise
            except Exception:
                logger.exception("Sandbox handler failed: %s %s", request.method, request.path)
                return self.error_renderer(request, HttpError(500, "Internal error in the sandbox."))
        if allowed:
            return self._not_allowed(request, sorted(set(allowed)))
        return self.error_renderer(request, HttpError(404, f"Resource not found: {request.path}"))

    def _not_allowed(self, request: Request, allowed: list[str]) -> Response:
        message = f"Method {request.method[:32]} not allowed on {request.path[:200]}"
        return self.error_renderer(request, HttpError(405, message, headers=[("Allow", ", ".join(allowed))]))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        for hook in self.after:
            try:
                hook(request, response)
            except Exception:
                logger.exception("Sandbox after-hook failed")
        headers = list(response.headers)
        if response.content_type and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", response.content_type))
        headers.append(("Content-Length", str(len(response.body))))
        start_response(status_line(response.status), headers)
        return [response.body]
