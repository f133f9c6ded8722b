"""Search of the catalog in Chinese: by code, by name (also partial), and by words.

Names, keywords and themes are segmented with jieba when an item is saved (`search_text`); a query
is segmented the same way and matched with PostgreSQL full-text search (`simple` configuration,
GIN index). Exact and prefix codes, and names containing the query, rank first.
"""

import re
from functools import cache

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Case, F, FloatField, Q, Value, When

from shared_apps.catalog.models import BasicItem

_STOP = {
    "我",
    "要",
    "我要",
    "想",
    "我想",
    "怎么",
    "如何",
    "办理",
    "办",
    "的",
    "了",
    "在",
    "哪里",
    "去",
    "给",
    "申请",
    "需要",
    "什么",
}
_CODE = re.compile(r"^[0-9A-Z]{4,31}$")


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


def words(text: str) -> list[str]:
    """Search words of a text: jieba's search-mode segmentation, minus filler words."""
    seen: list[str] = []
    for word in _jieba().cut_for_search(text or ""):
        word = word.strip().lower()
        if word and word not in _STOP and not re.fullmatch(r"\W+", word) and word not in seen:
            seen.append(word)
    return seen


def search_text_for(name: str, keywords: list[str], themes: list[str]) -> str:
    return " ".join(words(" ".join([name, *keywords, *themes])))


def search_items(query: str, queryset=None):
    """Items matching the query, best first."""
    queryset = BasicItem.objects.all() if queryset is None else queryset
    query = (query or "").strip()
    if not query:
        return queryset.order_by("code")
    upper = query.upper()
    if _CODE.match(upper):
        by_code = queryset.filter(code__startswith=upper[19:] if len(upper) == 31 else upper)
        if by_code.exists():
            return by_code.order_by("code")
    terms = words(query)
    text_match = Q(name__contains=query)
    if terms:
        lexemes = " | ".join("'" + t.replace("\\", "").replace("'", "''") + "'" for t in terms)
        tsquery = SearchQuery(lexemes, search_type="raw", config="simple")
        text_match |= Q(search_vector=tsquery)
        rank = SearchRank(F("search_vector"), tsquery)
    else:
        rank = Value(0.0)
    return (
        queryset.filter(text_match)
        .annotate(
            relevance=rank
            + Case(
                When(name__contains=query, then=Value(1.0)),
                default=Value(0.0),
                output_field=FloatField(),
            )
        )
        .order_by("-relevance", "code")
    )
