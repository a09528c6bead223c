"""What the lists' modules share: the clock and the refusal they raise (:class:`ListError`, answered
by the handlers in HubSpot's error shape)."""

from __future__ import annotations

import time
from typing import Any


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class ListError(Exception):
    """A refused call: HubSpot's ``status``, ``message`` and ``context`` (field -> messages);
    ``extra`` goes into the error body as it is (``errors``)."""

    def __init__(self, status: int, message: str, context: dict[str, list[str]] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.context = context
        self.extra = extra


def not_found(list_id: Any) -> ListError:
    return ListError(404, f"List {list_id} does not exist.", {"listId": [str(list_id)]})
