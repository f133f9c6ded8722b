from shared_apps.catalog.demo.load import load_items
from shared_apps.catalog.demo.queries import QUERIES
from shared_apps.catalog.search import search_items


def top5_hits(queries):
    hits, misses = 0, []
    for query, expected in queries:
        names = list(search_items(query).values_list("name", flat=True)[:5])
        if expected in names:
            hits += 1
        else:
            misses.append(f"{query} → {names}")
    return hits, misses


def test_shipped_queries_find_their_items(root, capsys):
    names = {item.name for item in load_items(root)}
    # A query whose item isn't in the catalog could never hit: it would only lower the bar.
    assert {expected for _query, expected in QUERIES} <= names
    hits, misses = top5_hits(QUERIES)
    with capsys.disabled():
        print(f"\nsearch quality: {hits}/{len(QUERIES)} queries find their item in the top 5")
    assert hits / len(QUERIES) >= 0.9, misses


def test_search_by_code_and_partial_name(root):
    items = load_items(root)
    marriage = next(i for i in items if i.name == "结婚登记")
    assert list(search_items(marriage.code))[0] == marriage
    assert list(search_items(marriage.code[:8]))[0].code.startswith(marriage.code[:8])
    assert "城乡居民基本养老保险参保登记" in search_items("基本养老").values_list("name", flat=True)
