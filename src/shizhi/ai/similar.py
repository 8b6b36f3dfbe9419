"""Similar cases (相似工单): possible duplicates of a new request among the open cases nearby in space and time,
and reply suggestions (答复参考) from similar resolved cases.

How it works
------------
An in-process index per worker process (one for open cases, one for resolved cases with a reply) holds, for each
case, a TF-IDF vector of its character bigrams (title counted twice, the first ``index_chars`` characters of the
content) in a sparse matrix, beside numpy arrays of id, received time, lng, lat and grid. A query:

1. narrows by time (``max_days`` around ``at``) and space (same grid, or within ``max_distance_m``) with vectorised
   masks over the arrays (no SQL);
2. scores the remaining rows by cosine similarity (sparse matrix times the query vector) and keeps those above
   ``min_text`` (``min_text_without_place`` when the query has no location at all);
3. ranks them by a combined score, ``weights`` of text, place and time;
4. asks the database for the best candidates through ``hotline.selectors.visible_cases(actor)`` restricted to the
   still-open statuses: the actor's scope and the current status come from the database, never from the index.
   Their text, place and time are scored again from the fresh rows, so an edited case never shows stale numbers.

Freshness: every query first asks the database for ``MAX(id)`` and a handful of indexed rows (a fingerprint: id,
received time and title of a few rows, one primary-key query). New cases (a larger id) are added incrementally;
a smaller maximum or a changed fingerprint (rows deleted, a restored database, a test rolled back) rebuilds the
index. A case that left the open statuses drops out at step 4 and is marked dead. What cannot be seen cheaply
(a reopened case, a moved or reworded case, a case that was just replied) waits for the periodic rebuild every
``index_ttl_s`` seconds, done in a background thread while queries use the previous index
(``background_rebuild``; synchronous inside a transaction, whose rows another thread would not see); the first
build is synchronous. :func:`invalidate` forces a rebuild at the next query.

Settings: ``settings.SHIZHI["AI_SIMILAR"]`` overrides any key of :data:`DEFAULTS`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import math
import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, connections
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from scipy import sparse

from shizhi.core import geo
from shizhi.core.models import Grid
from shizhi.core.selectors import Actor
from shizhi.hotline.models import OPEN_STATUSES, Case, CaseStatus
from shizhi.hotline.selectors import case_scope_q, visible_cases

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "max_distance_m": 1000,  # "nearby": within this distance, or in the same grid
    "max_days": 30,  # "recent": received within this many days of the new request
    "min_text": 0.3,  # cosine similarity of the bigram vectors for a located request
    "min_text_without_place": 0.5,  # a request without a location or grid needs more similar words
    "weights": {"text": 0.6, "place": 0.25, "time": 0.15},
    "same_grid_place": 0.75,  # the place score of a case in the same grid when the distance is unknown
    "index_ttl_s": 1800,  # rebuild the index this often (reopened, moved or reworded cases)
    "background_rebuild": True,  # rebuild in a thread while queries use the previous index
    "index_chars": 200,  # characters of the content that go into the index (the matter and place come first)
    "reply_days": 365,  # reply suggestions come from cases received within this many days
    "reply_max_cases": 100_000,  # and at most this many of the most recent resolved cases
    "reply_min_text": 0.25,
}
RESOLVED_STATUSES = (CaseStatus.REPLIED, CaseStatus.CLOSED)
# Documents read and vectorised at a time (fewer than 2**21: the bits of a document number in a pair key).
BUILD_CHUNK = 2_000
DAY = 86400.0
# Characters that never start or end a shared key word.
_EDGE = set("的了是在和与及并也都就很请把被将对于从到为有个这那我您你他她它们吗呢吧啊")
# Runs of shared text that say nothing about the matter.
_STOP_RUNS = frozenset(
    str.split(
        "请尽快 尽快 处理 解决 反映 问题 相关部门 有关部门 希望 谢谢 麻烦 已经 一直 "
        "现在 没有 我们 附近 情况 严重 影响 派人 修理 来现场 看一下"
    )
)


def similar_setting(name: str) -> Any:
    return {**DEFAULTS, **getattr(settings, "SHIZHI", {}).get("AI_SIMILAR", {})}[name]


# --------------------------------------------------------------------------------------------------------------
# Text: character bigrams of letters and digits, as 42-bit integer keys (two 21-bit code points)
# --------------------------------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^\w\n]+|_")


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), lower case, every run of non-letters/digits one space."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text or "").lower())


def index_text(title: str, content: str, chars: int | None = None) -> str:
    """What a case contributes to the index: the title twice (it summarises the matter), then the content."""
    limit = int(chars if chars is not None else similar_setting("index_chars"))
    return f"{title} {title} {(content or '')[:limit]}".replace("\n", " ")


def bigram_keys(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(document number, bigram key) of every bigram in ``texts``, vectorised over one joined string."""
    joined = normalise("\n".join(t.replace("\n", " ") for t in texts))
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").astype(np.int64)
    if codes.size < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    doc = np.cumsum(codes == 10)
    word = (codes != 32) & (codes != 10)
    valid = word[:-1] & word[1:]
    keys = (codes[:-1] << 21) | codes[1:]
    return doc[:-1][valid], keys[valid]


@dataclass(frozen=True)
class Vocabulary:
    """The bigrams seen at build time (sorted keys) and their inverse document frequencies."""

    keys: np.ndarray
    idf: np.ndarray
    unknown_idf: float  # a bigram no indexed case has weighs as much as one that only one case has
    documents: int

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Columns of ``keys`` and whether each is known."""
        if self.keys.size == 0:
            return np.zeros(keys.size, dtype=np.int64), np.zeros(keys.size, dtype=bool)
        cols = np.searchsorted(self.keys, keys)
        cols = np.minimum(cols, self.keys.size - 1)
        return cols, self.keys[cols] == keys

    def vector(self, text: str) -> dict[int, float]:
        """The unit-length TF-IDF vector of one text, as {bigram key: weight}; unknown bigrams count too."""
        _, keys = bigram_keys([text])
        if keys.size == 0:
            return {}
        uniq, counts = np.unique(keys, return_counts=True)
        cols, known = self.lookup(uniq)
        idf = np.where(known, self.idf[cols] if self.keys.size else 0.0, self.unknown_idf)
        weights = (1.0 + np.log(counts)) * idf
        norm = float(np.sqrt((weights**2).sum())) or 1.0
        return {int(k): float(w / norm) for k, w in zip(uniq, weights, strict=True)}

    def dense(self, vector: dict[int, float]) -> np.ndarray:
        """The known part of ``vector`` as a dense column vector over the vocabulary."""
        out = np.zeros(self.keys.size, dtype=np.float32)
        if vector and self.keys.size:
            keys = np.fromiter(vector.keys(), dtype=np.int64, count=len(vector))
            cols, known = self.lookup(keys)
            values = np.fromiter(vector.values(), dtype=np.float32, count=len(vector))
            out[cols[known]] = values[known]
        return out


def cosine(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return float(sum(w * b.get(k, 0.0) for k, w in a.items()))


def _generic(word: str) -> bool:
    """Whether ``word`` is made only of generic phrases and function characters ("请尽快处理")."""
    ok = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        ok[end] = (ok[end - 1] and word[end - 1] in _EDGE) or any(
            ok[start] and word[start:end] in _STOP_RUNS for start in range(max(0, end - 6), end - 1)
        )
    return ok[-1]


def _bigram_idf(words: list[str], vocab: Vocabulary | None) -> list[list[float]]:
    """The inverse document frequency of each bigram of each word (1.0 each without a vocabulary)."""
    pairs = [[(ord(x) << 21) | ord(y) for x, y in itertools.pairwise(w)] for w in words]
    if vocab is None or not words:
        return [[1.0] * len(p) for p in pairs]
    flat = np.array([k for p in pairs for k in p], dtype=np.int64)
    cols, known = vocab.lookup(flat)
    idf = np.where(known, vocab.idf[cols] if vocab.keys.size else 0.0, vocab.unknown_idf).tolist()
    out, i = [], 0
    for p in pairs:
        out.append(idf[i : i + len(p)])
        i += len(p)
    return out


def shared_words(query: str, other: str, vocab: Vocabulary | None = None, limit: int = 3) -> list[str]:
    """The longest pieces of text both share (共同关键词), most telling first: runs of shared bigrams, trimmed of
    function characters, without generic phrases ("请尽快处理") and, on a large index, without runs made only of
    very common bigrams."""
    a, b = normalise(query), normalise(other)
    grams = {b[i : i + 2] for i in range(len(b) - 1) if " " not in b[i : i + 2]}
    runs: list[str] = []
    i = 0
    while i < len(a) - 1:
        if " " in a[i : i + 2] or a[i : i + 2] not in grams:
            i += 1
            continue
        j = i + 2
        while j < len(a) and a[j] != " " and a[j - 1 : j + 1] in grams and a[i : j + 1] in b:
            j += 1
        runs.append(a[i:j])
        i = j - 1 if j - i > 2 else i + 1
    common = None
    if vocab is not None and vocab.documents >= 50:
        common = math.log((1 + vocab.documents) / (1 + 0.2 * vocab.documents)) + 1  # in >= 20% of cases
    words: list[str] = []
    for run in runs:
        word = run
        while word and word[0] in _EDGE:
            word = word[1:]
        while word and word[-1] in _EDGE:
            word = word[:-1]
        if len(word) >= 2 and not word.isdigit() and not _generic(word):
            words.append(word)
    scored: dict[str, float] = {}
    for word, weights in zip(words, _bigram_idf(words, vocab), strict=True):
        if common is not None and max(weights) <= common:
            continue
        scored[word] = max(scored.get(word, 0.0), sum(weights))
    # A word inside a longer shared word adds nothing.
    kept: list[str] = []
    for w in sorted(scored, key=lambda w: (-scored[w], w)):
        if not any(w in k for k in kept):
            kept.append(w)
        if len(kept) == limit:
            break
    return kept


# --------------------------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------------------------


@dataclass
class IndexRow:
    id: int
    title: str
    content: str
    lng: float | None
    lat: float | None
    grid_id: int | None
    received_at: dt.datetime


@dataclass
class CaseIndex:
    """One kind of cases ("open" or "resolved"), vectorised. Replaced, never changed, except ``alive``."""

    kind: str
    vocab: Vocabulary
    matrix: sparse.csr_matrix  # the rows of the build
    extra: list[dict[int, float]]  # rows added since the build, as vectors
    ids: np.ndarray
    ts: np.ndarray  # received_at, POSIX seconds
    lng: np.ndarray  # NaN where unknown
    lat: np.ndarray
    grid: np.ndarray  # -1 where unknown
    alive: np.ndarray  # False once the database said the case left the kind
    last_id: int  # the largest case id (any status) when the rows were read
    marks: tuple[tuple[int, float, str], ...]  # fingerprint: (id, received_at, title) of a few rows
    built: float = field(default_factory=time.monotonic)
    build_seconds: float = 0.0

    @property
    def size(self) -> int:
        return int(self.ids.size)

    def nbytes(self) -> int:
        """Memory held by the arrays and the matrix (the vectors of added rows estimated)."""
        arrays = (
            self.ids,
            self.ts,
            self.lng,
            self.lat,
            self.grid,
            self.alive,
            self.vocab.keys,
            self.vocab.idf,
        )
        m = self.matrix
        return (
            sum(a.nbytes for a in arrays)
            + m.data.nbytes
            + m.indices.nbytes
            + m.indptr.nbytes
            + sum(100 * len(v) for v in self.extra)
        )

    def position(self, case_id: int) -> int | None:
        p = int(np.searchsorted(self.ids, case_id))
        return p if p < self.ids.size and int(self.ids[p]) == case_id else None

    def text_scores(self, query: dict[int, float], positions: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with the rows at ``positions`` (sorted)."""
        out = np.zeros(positions.size, dtype=np.float64)
        if not query or positions.size == 0:
            return out
        n_main = self.matrix.shape[0]
        main = positions < n_main
        if main.any() and self.vocab.keys.size:
            q = self.vocab.dense(query)
            rows = positions[main]
            if rows.size > n_main // 4:
                out[main] = (self.matrix @ q)[rows]
            else:
                out[main] = self.matrix[rows] @ q
        for i in np.nonzero(~main)[0]:
            out[i] = cosine(query, self.extra[int(positions[i]) - n_main])
        return out


ROW_FIELDS = ("id", "title", "content", "lng", "lat", "grid_id", "received_at")


def _row_ids(kind: str, max_id: int, after: int = 0) -> list[int]:
    """The ids of the cases of ``kind`` in (after, max_id], ascending. Read by themselves (from the status
    index, no rows) and sorted here: reading whole rows in id order would make SQLite sort them all in
    memory. The rows added since a build are read by id alone and sorted out in Python: with a status
    condition beside an id range or list, SQLite (without statistics) prefers the status index and walks every
    open case."""
    qs = Case.objects.filter(id__lte=max_id, id__gt=after).order_by()
    if kind == "open" and after:
        ids = [i for i, st in qs.values_list("id", "status") if st in OPEN_STATUSES]
    elif kind == "open":
        ids = list(qs.filter(status__in=OPEN_STATUSES).values_list("id", flat=True))
    else:
        since = timezone.now() - dt.timedelta(days=int(similar_setting("reply_days")))
        recent = qs.filter(status__in=RESOLVED_STATUSES, received_at__gte=since).exclude(reply="")
        ids = sorted(recent.values_list("id", flat=True))[-int(similar_setting("reply_max_cases")) :]
    return sorted(ids)


def _row_batches(kind: str, max_id: int, after: int = 0) -> Iterator[list[IndexRow]]:
    """The rows in batches of :data:`BUILD_CHUNK`, so that a build never holds them all as Python objects."""
    chars = int(similar_setting("index_chars"))
    ids = _row_ids(kind, max_id, after)
    for start in range(0, len(ids), BUILD_CHUNK):
        part = ids[start : start + BUILD_CHUNK]
        rows = Case.objects.filter(pk__in=part).order_by().values_list(*ROW_FIELDS)
        batch = [IndexRow(i, t, c[:chars], x, y, g, r) for i, t, c, x, y, g, r in rows]
        batch.sort(key=lambda r: r.id)
        yield batch


def _marks(ids: np.ndarray, last_id: int) -> tuple[tuple[int, float, str], ...]:
    """A few rows to recognise this database by: spread over the index, and the last case of any status."""
    picked = {int(ids[int(p)]) for p in np.linspace(0, ids.size - 1, 5)} if ids.size else set()
    if last_id:
        picked.add(last_id)
    rows = Case.objects.filter(pk__in=picked).values_list("id", "received_at", "title")
    return tuple(sorted((i, r.timestamp(), t) for i, r, t in rows))


def _arrays(rows: Sequence[IndexRow]) -> dict[str, np.ndarray]:
    n = len(rows)
    return {
        "ids": np.fromiter((r.id for r in rows), dtype=np.int64, count=n),
        "ts": np.fromiter((r.received_at.timestamp() for r in rows), dtype=np.float64, count=n),
        "lng": np.fromiter((np.nan if r.lng is None else r.lng for r in rows), dtype=np.float64, count=n),
        "lat": np.fromiter((np.nan if r.lat is None else r.lat for r in rows), dtype=np.float64, count=n),
        "grid": np.fromiter((-1 if r.grid_id is None else r.grid_id for r in rows), dtype=np.int64, count=n),
    }


def build_index(kind: str) -> CaseIndex:
    """Read the cases of ``kind`` and vectorise them: a chunk of rows at a time, each as the unique
    (document << 42 | bigram key) pairs with their counts, which, in document order and with a sorted
    vocabulary, are already a CSR matrix's rows. Peak memory stays within about twice the index's own."""
    started = time.perf_counter()
    max_id = Case.objects.aggregate(m=Max("id"))["m"] or 0
    # Per chunk of rows: terms per document, each term's column in the chunk's own sorted vocabulary, its count
    # in the document, and that vocabulary (keys). Sorted by (document, key), so every document's terms are in
    # the global vocabulary's order too: a CSR matrix's rows, once the columns are mapped.
    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    meta: dict[str, list[np.ndarray]] = {k: [] for k in ("ids", "ts", "lng", "lat", "grid")}
    n = 0
    for batch in _row_batches(kind, max_id):
        doc, key = bigram_keys([index_text(r.title, r.content) for r in batch])
        pairs, tf = np.unique((doc << 42) | key, return_counts=True)
        del doc, key
        chunk_keys, local = np.unique(pairs & ((1 << 42) - 1), return_inverse=True)
        per_doc = np.bincount(pairs >> 42, minlength=len(batch))
        chunks.append(
            (per_doc, local.ravel().astype(np.int32), np.minimum(tf, 65535).astype(np.uint16), chunk_keys)
        )
        for name, values in _arrays(batch).items():
            meta[name].append(values)
        n += len(batch)
    vocab_keys = np.unique(np.concatenate([c[3] for c in chunks])) if chunks else np.zeros(0, dtype=np.int64)
    total = sum(c[1].size for c in chunks)
    index_type = np.int32 if total < 2**31 else np.int64
    cols = np.empty(total, dtype=np.int32)
    df = np.zeros(vocab_keys.size, dtype=np.int64)
    pos = 0
    for c in chunks:
        cols[pos : pos + c[1].size] = np.searchsorted(vocab_keys, c[3]).astype(np.int32)[c[1]]
        df += np.bincount(cols[pos : pos + c[1].size], minlength=vocab_keys.size)
        pos += c[1].size
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    data = np.empty(total, dtype=np.float32)
    indptr = np.zeros(n + 1, dtype=index_type)
    pos = start = 0
    while chunks:
        per_doc, local, tf, _ = chunks.pop(0)
        k, rows = local.size, np.repeat(np.arange(per_doc.size), per_doc)
        weights = ((1.0 + np.log(tf)) * idf[cols[pos : pos + k]]).astype(np.float32)
        norms = np.sqrt(np.bincount(rows, weights=weights.astype(np.float64) ** 2, minlength=per_doc.size))
        norms[norms == 0] = 1.0
        data[pos : pos + k] = weights / norms[rows].astype(np.float32)
        indptr[start + 1 : start + 1 + per_doc.size] = per_doc
        pos, start = pos + k, start + per_doc.size
    indptr = np.cumsum(indptr, dtype=index_type)
    matrix = sparse.csr_matrix((data, cols, indptr), shape=(n, vocab_keys.size), copy=False)
    vocab = Vocabulary(
        keys=vocab_keys, idf=idf, unknown_idf=float(math.log((1.0 + n) / 2.0) + 1.0), documents=n
    )
    arrays = {k: np.concatenate(v) if v else np.zeros(0) for k, v in meta.items()}
    ids = arrays["ids"].astype(np.int64)
    return CaseIndex(
        kind=kind,
        vocab=vocab,
        matrix=matrix,
        extra=[],
        ids=ids,
        ts=arrays["ts"].astype(np.float64),
        lng=arrays["lng"].astype(np.float64),
        lat=arrays["lat"].astype(np.float64),
        grid=arrays["grid"].astype(np.int64),
        alive=np.ones(n, dtype=bool),
        last_id=max_id,
        marks=_marks(ids, max_id),
        build_seconds=time.perf_counter() - started,
    )


def _with_rows(index: CaseIndex, rows: Sequence[IndexRow], last_id: int) -> CaseIndex:
    """A new index: ``index`` plus ``rows`` (ids above its last id) as vectors over its vocabulary."""
    if not rows:
        return dataclasses.replace(index, last_id=last_id)
    added = _arrays(rows)
    return dataclasses.replace(
        index,
        extra=[*index.extra, *(index.vocab.vector(index_text(r.title, r.content)) for r in rows)],
        ids=np.concatenate([index.ids, added["ids"]]),
        ts=np.concatenate([index.ts, added["ts"]]),
        lng=np.concatenate([index.lng, added["lng"]]),
        lat=np.concatenate([index.lat, added["lat"]]),
        grid=np.concatenate([index.grid, added["grid"]]),
        alive=np.concatenate([index.alive, np.ones(len(rows), dtype=bool)]),
        last_id=last_id,
    )


class IndexHolder:
    """The current index of one kind in this process, refreshed on every query (see the module's docstring)."""

    MAX_EXTRA = 5000  # rebuild once this many rows were added incrementally

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.index: CaseIndex | None = None
        self.lock = threading.Lock()
        self.rebuilding = False
        self.stale = False

    def invalidate(self) -> None:
        self.stale = True

    def reset(self) -> None:
        with self.lock:
            self.index = None
            self.stale = False

    def _matches(self, index: CaseIndex, max_id: int) -> bool:
        if max_id < index.last_id:
            return False
        if not index.marks:
            return True
        ids = [m[0] for m in index.marks]
        now = {
            i: (r.timestamp(), t)
            for i, r, t in Case.objects.filter(pk__in=ids).values_list("id", "received_at", "title")
        }
        return all(now.get(i) == (ts, title) for i, ts, title in index.marks)

    def get(self) -> CaseIndex:
        with self.lock:
            index = self.index
            max_id = Case.objects.aggregate(m=Max("id"))["m"] or 0
            if index is None or self.stale or not self._matches(index, max_id):
                self.stale = False
                self.index = index = build_index(self.kind)
                return index
            if self.kind == "open" and max_id > index.last_id:
                rows = [r for batch in _row_batches(self.kind, max_id, after=index.last_id) for r in batch]
                self.index = index = _with_rows(index, rows, max_id)
            expired = time.monotonic() - index.built > float(similar_setting("index_ttl_s"))
            if expired or len(index.extra) > self.MAX_EXTRA:
                # A thread has its own connection: inside a transaction it would not see the caller's rows.
                if similar_setting("background_rebuild") and not connection.in_atomic_block:
                    self._rebuild_in_background()
                else:
                    self.index = index = build_index(self.kind)
            return index

    def _rebuild_in_background(self) -> None:
        if self.rebuilding:
            return
        self.rebuilding = True

        def work() -> None:
            try:
                fresh = build_index(self.kind)
            except Exception:  # the previous index keeps serving; try again one period later
                logger.exception("similar-case index rebuild (%s) failed", self.kind)
                with self.lock:
                    if self.index is not None:
                        self.index = dataclasses.replace(self.index, built=time.monotonic())
                self.rebuilding = False
                connections.close_all()
                return
            try:
                with self.lock:
                    current = self.index
                    if current is not None and current.last_id > fresh.last_id:
                        rows = [
                            r
                            for batch in _row_batches(self.kind, current.last_id, after=fresh.last_id)
                            for r in batch
                        ]
                        fresh = _with_rows(fresh, rows, current.last_id) if self.kind == "open" else fresh
                    self.index = fresh
            finally:
                self.rebuilding = False
                connections.close_all()  # this thread's connections only

        threading.Thread(target=work, name=f"shizhi-similar-{self.kind}", daemon=True).start()


_HOLDERS = {"open": IndexHolder("open"), "resolved": IndexHolder("resolved")}


def open_index() -> CaseIndex:
    return _HOLDERS["open"].get()


def resolved_index() -> CaseIndex:
    return _HOLDERS["resolved"].get()


def invalidate() -> None:
    """Rebuild both indexes at their next query (e.g. after a bulk import or an edit of many cases)."""
    for holder in _HOLDERS.values():
        holder.invalidate()


def warm_up() -> None:
    """Build the indexes in a background thread if this process has none yet (e.g. at start-up), so that the
    first intake query does not wait for the cold build."""

    def work() -> None:
        try:
            for holder in _HOLDERS.values():
                if holder.index is None:
                    holder.get()
        finally:
            connections.close_all()

    threading.Thread(target=work, name="shizhi-similar-warm-up", daemon=True).start()


def reset() -> None:
    """Forget the indexes of this process (tests; the next query builds them again)."""
    for holder in _HOLDERS.values():
        holder.reset()


# --------------------------------------------------------------------------------------------------------------
# Similar open cases
# --------------------------------------------------------------------------------------------------------------


@dataclass
class SimilarCase:
    """An open case the new request may repeat. ``score`` is the text similarity (0..1, as in the intake desk's
    first version); ``rank`` the combined score the list is ordered by; ``reasons`` say why, in words."""

    case: Case
    same_phone: bool
    score: float
    rank: float = 0.0
    distance_m: int | None = None
    days: float = 0.0  # received this many days before ``at`` (negative: after)
    same_grid: bool = False
    shared_words: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.score)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case.pk,
            "number": self.case.number,
            "title": self.case.title,
            "status": self.case.status,
            "score": round(self.score, 4),
            "rank": round(self.rank, 4),
            "distance_m": self.distance_m,
            "days": round(self.days, 2),
            "same_grid": self.same_grid,
            "same_phone": self.same_phone,
            "shared_words": self.shared_words,
            "reasons": self.reasons,
        }


def grid_at(lng: float, lat: float) -> int | None:
    """The grid containing the point (indexed bounding boxes, then the polygon)."""
    candidates = Grid.objects.filter(
        min_lng__lte=lng, max_lng__gte=lng, min_lat__lte=lat, max_lat__gte=lat
    ).only("id", "boundary")
    for g in candidates.order_by("code"):
        if g.boundary and geo.contains(g.boundary, lng, lat):
            return int(g.pk)
    return None


def metres(lng: np.ndarray, lat: np.ndarray, lng0: float, lat0: float) -> np.ndarray:
    """Distances in metres from (lng0, lat0): equirectangular, within 0.1 % of haversine at a city's scale."""
    dx = (lng - lng0) * math.cos(math.radians(lat0)) * 111_320.0
    dy = (lat - lat0) * 110_574.0
    return np.sqrt(dx * dx + dy * dy)


def _distance_words(m: int) -> str:
    if m < 1000:
        return gettext("相距 %(m)s 米") % {"m": m}
    return gettext("相距 %(km)s 公里") % {"km": f"{m / 1000:.1f}"}


def _days_words(days: float) -> str:
    n = round(abs(days))
    if n == 0:
        return gettext("同一天")
    if days > 0:
        return gettext("%(n)s 天前") % {"n": n}
    return gettext("%(n)s 天后") % {"n": n}


def _words_reason(words: list[str]) -> str:
    return gettext("共同关键词：%(words)s") % {"words": gettext("、").join(words)}


@dataclass
class _Query:
    text: str
    vector: dict[int, float]
    lng: float | None
    lat: float | None
    grid_id: int | None
    at: dt.datetime

    @property
    def located(self) -> bool:
        return self.lng is not None and self.lat is not None

    @property
    def placed(self) -> bool:
        return self.located or self.grid_id is not None


def _place_and_time(
    q: _Query, lng: float | None, lat: float | None, grid_id: int | None, received: dt.datetime
) -> tuple[float, int | None, bool, float]:
    """(place score, distance in metres or None, same grid, days before ``at``) of one case."""
    same_grid = q.grid_id is not None and grid_id == q.grid_id
    distance = None
    place = 0.0
    if q.located and lng is not None and lat is not None:
        assert q.lng is not None and q.lat is not None
        distance = round(geo.distance_m(q.lng, q.lat, lng, lat))
        place = max(0.0, 1.0 - distance / float(similar_setting("max_distance_m")))
    if same_grid:
        place = max(place, float(similar_setting("same_grid_place")))
    days = (q.at - received).total_seconds() / DAY
    return place, distance, same_grid, days


def _rank(text: float, place: float, days: float) -> float:
    w = similar_setting("weights")
    recency = max(0.0, 1.0 - abs(days) / float(similar_setting("max_days")))
    return float(w["text"] * text + w["place"] * place + w["time"] * recency)


def _candidates(index: CaseIndex, q: _Query, exclude_case_id: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the rows near in space and time with similar words, and their text scores."""
    window = float(similar_setting("max_days")) * DAY
    mask = index.alive & (np.abs(index.ts - q.at.timestamp()) <= window)
    if exclude_case_id is not None:
        mask &= index.ids != exclude_case_id
    positions = np.nonzero(mask)[0]
    if q.placed:
        near = np.zeros(positions.size, dtype=bool)
        if q.grid_id is not None:
            near |= index.grid[positions] == q.grid_id
        if q.located:
            assert q.lng is not None and q.lat is not None
            with np.errstate(invalid="ignore"):
                d = metres(index.lng[positions], index.lat[positions], q.lng, q.lat)
                near |= d <= float(similar_setting("max_distance_m"))
        positions = positions[near]
    scores = index.text_scores(q.vector, positions)
    floor = float(similar_setting("min_text" if q.placed else "min_text_without_place"))
    keep = scores >= floor
    return positions[keep], scores[keep]


def similar_open_cases(
    *,
    actor: Actor,
    title: str,
    content: str,
    lng: float | None = None,
    lat: float | None = None,
    grid_id: int | None = None,
    at: dt.datetime | None = None,
    exclude_case_id: int | None = None,
    phone: str = "",
    limit: int = 5,
) -> list[SimilarCase]:
    """Open cases the actor may see that the request (title, content, place, time ``at``, default now) may
    repeat: similar words in the same grid or within ``max_distance_m``, received within ``max_days``; or the
    same caller's ``phone`` within ``max_days``. Best first by the combined score, each with its reasons."""
    at = at or timezone.now()
    index = open_index()
    if grid_id is None and lng is not None and lat is not None:
        grid_id = grid_at(lng, lat)
    text = index_text(title, content)
    q = _Query(text, index.vocab.vector(text), lng, lat, grid_id, at)
    found: dict[int, SimilarCase] = {}
    window = dt.timedelta(days=float(similar_setting("max_days")))
    # The status is checked in Python throughout (see _row_ids).
    visible = visible_cases(actor)
    phone = "".join((phone or "").split())
    if phone:
        same_caller = visible.filter(
            citizen_phone=phone, received_at__gte=at - window, received_at__lte=at + window
        )
        if exclude_case_id is not None:
            same_caller = same_caller.exclude(pk=exclude_case_id)
        for case in _shown(same_caller.order_by("-received_at")[: max(limit, 10) * 3]):
            if case.status in OPEN_STATUSES and len(found) < max(limit, 10):
                found[case.pk] = _describe(case, q, index, same_phone=True)
    positions, scores = _candidates(index, q, exclude_case_id)
    order = np.argsort(-_ranks(index, positions, scores, q), kind="stable")
    ids = [int(index.ids[positions[i]]) for i in order if int(index.ids[positions[i]]) not in found]
    for case in _visible_first(index, actor, visible, ids, limit + 3):
        found[case.pk] = _describe(case, q, index, same_phone=False)
    floor = float(similar_setting("min_text" if q.placed else "min_text_without_place"))
    ranked = [s for s in found.values() if s.same_phone or s.score >= floor]
    ranked.sort(key=lambda s: (not s.same_phone, -s.rank, -s.case.received_at.timestamp()))
    ranked = ranked[:limit]
    for s in ranked:
        if s.score > 0:
            s.shared_words = shared_words(f"{s.case.title} {s.case.content}", q.text, index.vocab)
            if s.shared_words:
                s.reasons.append(_words_reason(s.shared_words))
    return ranked


def _shown(qs: QuerySet[Case]) -> QuerySet[Case]:
    """What a list of similar cases shows: the category, the street and the lead unit (not the street's
    outline, a large JSON document)."""
    return qs.select_related("category", "street", "lead_unit").defer(
        "street__boundary", "category__description"
    )


def _ranks(index: CaseIndex, positions: np.ndarray, scores: np.ndarray, q: _Query) -> np.ndarray:
    """The combined score of the candidates, from the index's arrays (vectorised :func:`_rank`)."""
    w = similar_setting("weights")
    place = np.zeros(positions.size)
    if q.located:
        assert q.lng is not None and q.lat is not None
        d = metres(index.lng[positions], index.lat[positions], q.lng, q.lat)
        place = np.nan_to_num(np.clip(1.0 - d / float(similar_setting("max_distance_m")), 0.0, 1.0), nan=0.0)
    if q.grid_id is not None:
        same = index.grid[positions] == q.grid_id
        place = np.where(same, np.maximum(place, float(similar_setting("same_grid_place"))), place)
    days = (q.at.timestamp() - index.ts[positions]) / DAY
    recency = np.clip(1.0 - np.abs(days) / float(similar_setting("max_days")), 0.0, 1.0)
    return np.asarray(w["text"] * scores + w["place"] * place + w["time"] * recency)


def _visible_first(
    index: CaseIndex, actor: Actor, visible: QuerySet[Case], ids: list[int], wanted: int
) -> list[Case]:
    """The first ``wanted`` of ``ids`` (best first) that ``visible`` holds, fetched for display. The index's
    order is the fresh order unless a case changed since it was indexed, so the caller takes a few more than
    it shows and ranks them again from the database's values.

    A city-wide actor usually gets the first ``wanted`` at once (one query); a case not open for such an actor
    has left the open statuses and is marked dead in the index. A scoped actor's candidates are checked in
    larger chunks by id first (the scope filter per row is an indexed EXISTS), then the chosen ones fetched."""
    city_wide = case_scope_q(actor) is None
    chosen: list[int] = []
    start, first = 0, True
    while start < len(ids) and len(chosen) < wanted:
        chunk = ids[start : start + (wanted if first else 500)]
        start += len(chunk)
        if first:
            rows = {c.pk: c for c in _shown(visible.filter(pk__in=chunk)) if c.status in OPEN_STATUSES}
            got = set(rows)
        else:
            pairs = visible.filter(pk__in=chunk).order_by().values_list("id", "status")
            got = {i for i, st in pairs if st in OPEN_STATUSES}
        if city_wide:
            for case_id in chunk:
                p = index.position(case_id)
                if case_id not in got and p is not None:
                    index.alive[p] = False
        chosen += [i for i in chunk if i in got][: wanted - len(chosen)]
        if first and len(chosen) >= wanted:
            return [rows[i] for i in chosen]
        first = False
    cases = {c.pk: c for c in _shown(Case.objects.filter(pk__in=chosen))}
    return [cases[i] for i in chosen if i in cases]


def _describe(case: Case, q: _Query, index: CaseIndex, *, same_phone: bool) -> SimilarCase:
    """Score one fetched case from its current values, with the reasons in words."""
    other = index_text(case.title, case.content)
    text = cosine(q.vector, index.vocab.vector(other))
    place, distance, same_grid, days = _place_and_time(q, case.lng, case.lat, case.grid_id, case.received_at)
    reasons = []
    if same_phone:
        reasons.append(gettext("同一来电号码"))
    if same_grid:
        reasons.append(gettext("同一网格"))
    if distance is not None:
        reasons.append(_distance_words(distance))
    reasons.append(_days_words(days))
    if text > 0:
        reasons.append(gettext("内容相似 %(percent)s%%") % {"percent": round(100 * text)})
    return SimilarCase(
        case=case,
        same_phone=same_phone,
        score=text,
        rank=_rank(text, place, days),
        distance_m=distance,
        days=days,
        same_grid=same_grid,
        reasons=reasons,
    )


# --------------------------------------------------------------------------------------------------------------
# Reply suggestions
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ReplySuggestion:
    """A resolved case like this one, and how it was answered (答复参考)."""

    case: Case
    reply: str
    score: float  # text similarity of the requests, 0..1
    rank: float
    same_category: bool
    shared_words: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.score)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case.pk,
            "number": self.case.number,
            "title": self.case.title,
            "reply": self.reply,
            "replied_at": self.case.replied_at,
            "unit": self.case.lead_unit.name if self.case.lead_unit else None,
            "score": round(self.score, 4),
            "rank": round(self.rank, 4),
            "same_category": self.same_category,
            "shared_words": self.shared_words,
            "reasons": self.reasons,
        }


def reply_suggestions(
    *,
    actor: Actor,
    title: str,
    content: str,
    category_id: int | None = None,
    exclude_case_id: int | None = None,
    limit: int = 3,
) -> list[ReplySuggestion]:
    """Replied or closed cases the actor may see whose request reads like this one, with their replies:
    by text similarity, then a case of the same category (and its subcategories) first, one whose caller was
    satisfied before one who was not. The same reply text is offered once."""
    index = resolved_index()
    text = index_text(title, content)
    vector = index.vocab.vector(text)
    mask = index.alive.copy()
    if exclude_case_id is not None:
        mask &= index.ids != exclude_case_id
    positions = np.nonzero(mask)[0]
    scores = index.text_scores(vector, positions)
    keep = scores >= float(similar_setting("reply_min_text"))
    positions, scores = positions[keep], scores[keep]
    order = np.argsort(-scores, kind="stable")[: 40 * limit]
    ids = [int(i) for i in index.ids[positions[order]]]
    best = [float(x) for x in scores[order]]
    category_path = ""
    if category_id is not None:
        from shizhi.hotline.models import Category

        category_path = Category.objects.filter(pk=category_id).values_list("path", flat=True).first() or ""
    visible = visible_cases(actor).order_by()  # the status is checked in Python (see _row_ids)
    # Rank on a few columns first; the bonuses move a case by at most BONUS, so once enough distinct replies
    # are in hand and the next text score is that far below, nothing further can overtake them.
    ranked: list[tuple[float, float, int, str]] = []  # (rank, text score, id, reply key)
    chunk = max(4 * limit, 20)
    for start in range(0, len(ids), chunk):
        part = dict(zip(ids[start : start + chunk], best[start : start + chunk], strict=True))
        rows = visible.filter(pk__in=list(part)).values_list(
            "id", "category_path", "satisfied", "solved", "reply", "status"
        )
        for case_id, path, satisfied, solved, reply, status in rows:
            if status not in RESOLVED_STATUSES or not reply:
                continue
            rank, _ = _bonus(part[case_id], path, satisfied, solved, category_path)
            ranked.append((rank, part[case_id], case_id, _reply_key(reply)))
        ranked.sort(key=lambda r: (-r[0], -r[1], -r[2]))
        distinct = list(dict.fromkeys(r[3] for r in ranked))
        following = start + chunk
        if len(distinct) >= limit and (
            following >= len(ids)
            or best[following] + BONUS < next(r[0] for r in ranked if r[3] == distinct[limit - 1])
        ):
            break
    chosen: list[int] = []
    seen: set[str] = set()
    for _, _, case_id, key in ranked:
        if key not in seen:
            seen.add(key)
            chosen.append(case_id)
        if len(chosen) == limit:
            break
    score_of = {r[2]: r[1] for r in ranked}
    cases = {c.pk: c for c in Case.objects.filter(pk__in=chosen).select_related("category", "lead_unit")}
    out = []
    for case_id in chosen:
        case = cases[case_id]
        rank, reasons = _bonus(
            score_of[case_id], case.category_path, case.satisfied, case.solved, category_path
        )
        s = ReplySuggestion(
            case=case,
            reply=case.reply,
            score=score_of[case_id],
            rank=rank,
            same_category=bool(category_path) and case.category_path.startswith(category_path),
            reasons=reasons,
        )
        s.shared_words = shared_words(f"{case.title} {case.content}", text, index.vocab)
        if s.shared_words:
            s.reasons.append(_words_reason(s.shared_words))
        out.append(s)
    return out


BONUS = 0.15  # the most a category match and a satisfied callback add to the text score


def _bonus(
    score: float, path: str, satisfied: bool | None, solved: bool | None, category_path: str
) -> tuple[float, list[str]]:
    """The rank of a resolved case and the reasons: same category +0.1, satisfied +0.05, unsatisfied -0.1."""
    rank = score
    reasons = [gettext("内容相似 %(percent)s%%") % {"percent": round(100 * score)}]
    if category_path and path.startswith(category_path):
        rank += 0.1
        reasons.append(gettext("同一分类"))
    if satisfied is True:
        rank += 0.05
        reasons.append(gettext("回访满意"))
    elif satisfied is False or solved is False:
        rank -= 0.1
        reasons.append(gettext("回访不满意"))
    return rank, reasons


def _reply_key(reply: str) -> str:
    return normalise(reply).replace(" ", "")
