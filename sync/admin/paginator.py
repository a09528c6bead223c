"""Paging the sync log without COUNT(*): the log grows to millions of rows."""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

from django.core.paginator import Paginator


class WindowPaginator(Paginator):
    """Counts at most ``lookahead`` pages past the current one (a LIMITed count, bounded work).

    ``capped`` tells the template that more rows exist than were counted.
    """

    lookahead = 5

    def __init__(self, object_list, per_page, *, page_number: int = 1, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(1, page_number)

    @cached_property
    def window(self) -> int:
        return (self.page_number + self.lookahead) * self.per_page

    @cached_property
    def count(self) -> int:
        counted = self.object_list[: self.window + 1].count()
        return counted

    @property
    def page_links(self):
        return self.get_elided_page_range(self.page_number, on_each_side=2, on_ends=1)

    @property
    def capped(self) -> bool:
        return self.count > self.window

    @cached_property
    def num_pages(self) -> int:
        if self.count == 0 and not self.allow_empty_first_page:
            return 0
        return max(1, math.ceil(self.count / self.per_page))
