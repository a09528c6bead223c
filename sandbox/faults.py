"""Deterministic fault injection shared by the emulators.

A fault is chosen for a request in one of two ways:

1. Per request, by header: ``X-Sandbox-Fault: <kind>`` optionally followed by parameters,
   e.g. ``X-Sandbox-Fault: latency; latency_ms=250`` or ``rate_limit; retry_after=2``. The
   header always fires (the request it is on gets the fault).
2. Globally, by a plan set through the control endpoint ``POST /_sandbox/faults`` with a JSON
   body ``{"kind": "rate_limit", "rate": 0.5, "count": 3, "seed": 7, "latency_ms": 0,
   "path": "^/crm/v3/objects/contacts/batch", "method": "POST", "retry_after": 1}`` (or
   ``{"faults": [plan, plan, ...]}`` to set several; the first that fires wins).
   ``rate`` (0..1, default 1) is the probability a matching request fails; draws come from
   ``random.Random(seed)``, so the same plan and the same request sequence fail the same
   requests. ``count`` (default unlimited) bounds how many times the plan fires. ``path`` is a
   regex searched in the request path; ``method`` restricts to one HTTP method.
   ``DELETE /_sandbox/faults`` clears the plans; ``GET /_sandbox/faults`` shows them with the
   number of times each fired.

Kinds (``KINDS``): ``rate_limit``, ``server_error``, ``latency``, ``expired_session``,
``unable_to_lock_row``, ``down``. ``latency`` only delays the request (``latency_ms``, default
500) and lets it proceed; any plan may also carry ``latency_ms`` to delay before failing. Every
other kind is turned into a response by the emulator's ``render`` callback, in that service's
own error shape (HubSpot: 429 + ``X-HubSpot-RateLimit-*``; Salesforce: ``REQUEST_LIMIT_EXCEEDED``,
``INVALID_SESSION_ID``, ``UNABLE_TO_LOCK_ROW``...). ``down`` is a 503 (the service is
unavailable), or, with parameter ``mode=refuse`` (``X-Sandbox-Fault: down; mode=refuse``), the
connection is closed without any answer: the hook raises ``DropConnection`` itself, before
``render`` is called.

Wiring into an emulator (see :mod:`sandbox.hubspot.app.hooks` and ``.core`` for a complete example)::

    injector = FaultInjector()
    router.before.append(injector.hook(render=my_render))   # render(request, fault) -> Response
    install_control_routes(router, injector, reset=store.reset)

Put the fault hook *before* the auth hook if an ``expired_session`` fault must win over a
valid token (it should: that is how an expired session looks to a client).

Control endpoints (all ``public``: no auth, never faulted):

- ``POST /_sandbox/faults`` set plans (replaces existing ones); ``DELETE /_sandbox/faults`` clear;
  ``GET /_sandbox/faults`` list.
- ``POST /_sandbox/reset`` empties the emulator's state and clears the fault plans.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.wsgi import (
    DropConnection,
    HttpError,
    Request,
    Response,
    Router,
    empty_response,
    json_response,
)

FAULT_HEADER = "X-Sandbox-Fault"

RATE_LIMIT = "rate_limit"
SERVER_ERROR = "server_error"
LATENCY = "latency"
EXPIRED_SESSION = "expired_session"
UNABLE_TO_LOCK_ROW = "unable_to_lock_row"
DOWN = "down"
KINDS = (RATE_LIMIT, SERVER_ERROR, LATENCY, EXPIRED_SESSION, UNABLE_TO_LOCK_ROW, DOWN)

DEFAULT_LATENCY_MS = 500


@dataclass
class Fault:
    """The fault chosen for one request."""

    kind: str
    latency_ms: int = 0
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class FaultPlan:
    kind: str
    rate: float = 1.0
    count: int | None = None
    seed: int = 0
    latency_ms: int = 0
    path: str | None = None
    method: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}.")
        if not 0.0 <= float(self.rate) <= 1.0:
            raise ValueError("rate must be between 0 and 1.")
        if self.count is not None and int(self.count) < 0:
            raise ValueError("count must be positive.")
        if int(self.latency_ms) < 0:
            raise ValueError("latency_ms must be positive.")
        self.rate = float(self.rate)
        self.latency_ms = int(self.latency_ms)
        self.count = None if self.count is None else int(self.count)
        self._path_re = re.compile(self.path) if self.path else None
        self._rng = random.Random(self.seed)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultPlan:
        if not isinstance(data, dict) or "kind" not in data:
            raise ValueError("A fault plan is a JSON object with at least a 'kind'.")
        known = {"kind", "rate", "count", "seed", "latency_ms", "path", "method"}
        params = {str(k): str(v) for k, v in data.items() if k not in known}
        try:
            return cls(
                kind=data["kind"],
                rate=data.get("rate", 1.0),
                count=data.get("count"),
                seed=int(data.get("seed", 0)),
                latency_ms=data.get("latency_ms", 0),
                path=data.get("path"),
                method=(data.get("method") or None) and str(data["method"]).upper(),
                params=params,
            )
        except re.error as exc:
            raise ValueError(f"Invalid path pattern: {exc}")
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rate": self.rate,
            "count": self.count,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "path": self.path,
            "method": self.method,
            "fired": self.fired,
            **self.params,
        }

    def draw(self, method: str, path: str) -> Fault | None:
        """Whether this plan fires for the request; must be called under the injector's lock."""
        if self.count is not None and self.fired >= self.count:
            return None
        if self.method and self.method != method:
            return None
        if self._path_re is not None and not self._path_re.search(path):
            return None
        # Always draw, even at rate 1, so the sequence only depends on matching requests.
        if self._rng.random() >= self.rate:
            return None
        self.fired += 1
        latency = self.latency_ms or (DEFAULT_LATENCY_MS if self.kind == LATENCY else 0)
        return Fault(kind=self.kind, latency_ms=latency, params=dict(self.params))


def parse_fault_header(value: str) -> Fault:
    """``kind[; key=value ...]`` -> ``Fault``; an unknown kind raises ``ValueError``."""
    parts = [part.strip() for part in value.split(";") if part.strip()]
    if not parts:
        raise ValueError("Empty fault header.")
    kind = parts[0].lower()
    if kind not in KINDS:
        raise ValueError(f"Unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}.")
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, _sep, val = part.partition("=")
        params[key.strip()] = val.strip()
    try:
        latency = int(params.pop("latency_ms", 0))
    except ValueError:
        raise ValueError("latency_ms must be an integer.")
    if kind == LATENCY and not latency:
        latency = DEFAULT_LATENCY_MS
    return Fault(kind=kind, latency_ms=latency, params=params)


Render = Callable[[Request, Fault], Response]


class FaultInjector:
    """Holds the global fault plans of one emulator; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.plans: list[FaultPlan] = []

    def set_plans(self, plans: list[FaultPlan]) -> None:
        with self._lock:
            self.plans = list(plans)

    def clear(self) -> None:
        self.set_plans([])

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [plan.to_json() for plan in self.plans]

    def choose(self, request: Request) -> Fault | None:
        """The fault for this request: the header wins, then the first global plan that fires."""
        header = request.header(FAULT_HEADER)
        if header:
            return parse_fault_header(header)
        with self._lock:
            for plan in self.plans:
                fault = plan.draw(request.method, request.path)
                if fault is not None:
                    return fault
        return None

    def hook(self, render: Render) -> Callable[[Request], Response | None]:
        """A ``Router.before`` hook: sleeps for latency, renders failing kinds via ``render``."""

        def before(request: Request) -> Response | None:
            try:
                fault = self.choose(request)
            except ValueError as exc:
                raise HttpError(400, str(exc), code="VALIDATION_ERROR")
            if fault is None:
                return None
            request.state["fault"] = fault
            if fault.latency_ms:
                time.sleep(fault.latency_ms / 1000)
            if fault.kind == LATENCY:
                return None
            if fault.kind == DOWN and fault.params.get("mode") == "refuse":
                raise DropConnection()
            return render(request, fault)

        return before


def install_control_routes(
    router: Router,
    injector: FaultInjector,
    *,
    reset: Callable[[], None],
    status: Callable[[], dict[str, Any]] | None = None,
) -> None:
    """Serve ``/_sandbox/faults`` and ``/_sandbox/reset`` (and ``GET /_sandbox/status``) on ``router``."""

    def set_faults(request: Request) -> Response:
        data = request.json()
        raw = data.get("faults") if isinstance(data, dict) and "faults" in data else [data]
        if not isinstance(raw, list):
            return json_response(400, {"status": "error", "message": "'faults' must be a list."})
        try:
            plans = [FaultPlan.from_json(item) for item in raw]
        except ValueError as exc:
            return json_response(400, {"status": "error", "message": str(exc)})
        injector.set_plans(plans)
        return json_response(200, {"faults": injector.snapshot()})

    def list_faults(request: Request) -> Response:
        return json_response(200, {"faults": injector.snapshot()})

    def clear_faults(request: Request) -> Response:
        injector.clear()
        return empty_response(204)

    def reset_state(request: Request) -> Response:
        reset()
        injector.clear()
        return json_response(200, {"status": "reset"})

    def get_status(request: Request) -> Response:
        return json_response(200, {"faults": injector.snapshot(), **(status() if status else {})})

    router.add("POST", r"/_sandbox/faults", set_faults, public=True)
    router.add("GET", r"/_sandbox/faults", list_faults, public=True)
    router.add("DELETE", r"/_sandbox/faults", clear_faults, public=True)
    router.add("POST", r"/_sandbox/reset", reset_state, public=True)
    router.add("GET", r"/_sandbox/status", get_status, public=True)
