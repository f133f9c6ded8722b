"""Paging, the one implementation every list uses (pages and both APIs): a list is never cut
silently; it comes a page at a time with its total.

API: an operation takes `paging: Query[PageIn]` and answers `page_of(ItemSchema)`, a body
`{items, count, page, page_size, pages}`; a page past the last one is empty (its count still says
how many there are), so a client reads pages until `page == pages`.
Pages: `page_for(request, rows)` clamps a page number that is not one (or too far) to the first or
last page, as Django's `Paginator.get_page` does; `paging.html` renders the links, keeping every
other query parameter (filters, sort)."""

import math
from collections.abc import Callable, Sequence

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window
from ninja import Schema
from pydantic import Field, create_model

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Far beyond any list here (2,646 units, a few thousand items), and OFFSET stays small.
MAX_PAGE = 10_000
PAGE_SIZE_ON_PAGES = 20


class PageIn(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1 is the first page")
    page_size: int = Field(
        DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"at most {MAX_PAGE_SIZE}"
    )


class PageOut(Schema):
    count: int = Field(description="how many there are in all, on every page")
    page: int
    page_size: int
    pages: int = Field(description="how many pages there are (at least 1)")


_page_schemas: dict[type, type[PageOut]] = {}


def page_of(item_schema: type[Schema]) -> type[PageOut]:
    """The response schema of a page of `item_schema` (one per item schema, named after it)."""
    if item_schema not in _page_schemas:
        _page_schemas[item_schema] = create_model(
            f"{item_schema.__name__}Page",
            __base__=PageOut,
            items=(list[item_schema], ...),
        )
    return _page_schemas[item_schema]


def _counted_slice(rows: QuerySet, start: int, size: int) -> tuple[list, int | None]:
    """A slice of `rows` and their total in one statement (a window count), or no total when the
    slice is empty past the first page."""
    chunk = list(rows.annotate(_page_total=Window(Count("pk")))[start : start + size])
    if chunk:
        return chunk, chunk[0]._page_total
    return chunk, 0 if start == 0 else None


def paged(
    rows: QuerySet | Sequence,
    paging: PageIn,
    render: Callable[[list], list] | None = None,
    *,
    ranked: bool = False,
) -> dict:
    """One page of `rows` (a query set is counted and sliced in the database); `render` turns the
    page's rows into items (one call per page, so it can fetch what they need in bulk).

    `ranked`: the database must visit every row anyway to order them (a search by relevance), so
    the page and the total come from one statement instead of two. Not for a long list read in an
    index's order (a queue), where LIMIT stops early and a window count would read it all."""
    start = (paging.page - 1) * paging.page_size
    count = None
    if ranked and isinstance(rows, QuerySet):
        chunk, count = _counted_slice(rows, start, paging.page_size)
    if count is None:
        count = rows.count() if isinstance(rows, QuerySet) else len(rows)
        chunk = list(rows[start : start + paging.page_size]) if start < count else []
    return {
        "items": render(chunk) if render else chunk,
        "count": count,
        "page": paging.page,
        "page_size": paging.page_size,
        "pages": max(1, math.ceil(count / paging.page_size)),
    }


def page_for(
    request, rows: QuerySet | Sequence, per_page: int = PAGE_SIZE_ON_PAGES, *, ranked: bool = False
) -> Page:
    """The page of `rows` a page's `?page=` asks for: not a number → the first, too far → the last.
    `ranked` as for `paged`: page and total in one statement where that page exists."""
    paginator = Paginator(rows, per_page)
    asked = request.GET.get("page", "")[:12]
    page = None
    if ranked and isinstance(rows, QuerySet):
        number = int(asked) if asked.isascii() and asked.isdigit() and int(asked) > 0 else 1
        chunk, count = _counted_slice(rows, (number - 1) * per_page, per_page)
        if count is not None:
            paginator.count = count  # what Paginator would have counted (a cached property)
            page = Page(chunk, number, paginator)
    if page is None:
        page = paginator.get_page(asked)
    # The numbers paging.html links to: the ends and two either side of this page.
    page.links = list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    return page
