"""Search quality on a query set: how often the expected item is first, or in the top 5.

Used by the tests (on the demo catalog) and by `python -m bench.catalog` (on 5,000 items).
"""

from dataclasses import dataclass, field

from shared_apps.catalog.search import search_items


@dataclass
class Quality:
    queries: int = 0
    top1: int = 0
    top5: int = 0
    empty: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        n = self.queries or 1
        return (
            f"top-1 {self.top1}/{self.queries} ({self.top1 / n:.0%}), "
            f"top-5 {self.top5}/{self.queries} ({self.top5 / n:.0%}), "
            f"empty {len(self.empty)}"
        )


def measure(queries) -> Quality:
    """`queries`: (query, expected name or names) pairs."""
    quality = Quality(queries=len(queries))
    for query, expected in queries:
        accepted = {expected} if isinstance(expected, str) else set(expected)
        names = list(search_items(query).values_list("name", flat=True)[:5])
        if not names:
            quality.empty.append(query)
        if names[:1] and names[0] in accepted:
            quality.top1 += 1
        if accepted & set(names):
            quality.top5 += 1
        else:
            quality.misses.append(f"{query} → {names}")
    return quality
