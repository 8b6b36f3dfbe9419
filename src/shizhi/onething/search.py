"""Plain-words search over the published list (一件事检索): "孩子出生要办什么" finds 新生儿出生一件事.

Character bigrams (Chinese has no spaces, and citizens' words rarely match the official name exactly) weighted
by how rare they are across items (IDF) and by where they occur (name > keywords > matter names > summary and
stage), plus a small synonym table that maps everyday words to the official ones (孩子 -> 新生儿, 上户口 -> 户口登记).
The list has tens of items, so the index is built per query from the published versions; nothing is cached.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shizhi.onething.models import ItemVersion, Stage

# Everyday words -> the words the list uses.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "孩子": ("新生儿", "子女", "儿童"),
    "小孩": ("新生儿", "子女", "儿童"),
    "宝宝": ("新生儿",),
    "婴儿": ("新生儿",),
    "生娃": ("新生儿", "出生"),
    "生孩子": ("新生儿", "出生"),
    "落户": ("户口登记",),
    "上户口": ("户口登记", "出生登记"),
    "办户口": ("户口登记",),
    "上学": ("入学", "教育"),
    "读书": ("入学", "教育"),
    "小学": ("入学",),
    "初中": ("入学",),
    "报名": ("入学",),
    "社保卡": ("社会保障卡",),
    "一卡通": ("社会保障卡",),
    "残疾": ("残疾人",),
    "残疾证": ("残疾人证",),
    "退休": ("退休", "养老金"),
    "养老金": ("退休",),
    "当兵": ("退役",),
    "复员": ("退役",),
    "转业": ("退役",),
    "去世": ("身后", "死亡"),
    "过世": ("身后", "死亡"),
    "丧事": ("身后", "殡葬"),
    "后事": ("身后", "殡葬"),
    "改名": ("信息变更", "名称变更"),
    "换地址": ("信息变更", "地址变更"),
    "变更": ("信息变更",),
    "开饭店": ("餐饮店",),
    "开餐馆": ("餐饮店",),
    "饭馆": ("餐饮店",),
    "开店": ("开办", "经营"),
    "货运": ("运输企业",),
    "物流": ("运输企业",),
    "开公司": ("开办", "营业执照"),
    "接水": ("用水报装", "水电气网"),
    "通电": ("用电报装", "水电气网"),
    "装燃气": ("用气报装", "水电气网"),
    "宽带": ("水电气网",),
    "失信": ("信用修复",),
    "黑名单": ("信用修复",),
    "破产": ("企业破产",),
}

# Words that only say "I want to do something" and would match every item.
STOP_PHRASES = (
    "一件事",
    "要办什么",
    "办什么",
    "怎么办理",
    "怎么办",
    "如何办理",
    "需要什么",
    "需要哪些",
    "要哪些",
    "哪些手续",
    "什么手续",
    "手续",
    "我想",
    "我要",
    "想要",
    "应该",
    "怎么",
    "如何",
    "办理",
    "申请",
    "请问",
    "了",
    "的",
    "吗",
    "呢",
)

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
FIELD_WEIGHTS = {"name": 3.0, "keywords": 2.0, "matters": 1.0, "summary": 0.5, "stage": 1.0}


def normalize(text: str) -> str:
    return _PUNCT.sub(" ", (text or "").lower()).strip()


def bigrams(text: str) -> set[str]:
    """Character bigrams of each run of text (and single characters of one-character runs)."""
    out: set[str] = set()
    for run in normalize(text).split():
        if len(run) == 1:
            out.add(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def query_terms(query: str) -> set[str]:
    """The query's bigrams after removing filler phrases, plus the bigrams of its synonyms' expansions."""
    text = normalize(query)
    expansions = [word for key, words in SYNONYMS.items() if key in text for word in words]
    for phrase in STOP_PHRASES:
        text = text.replace(phrase, " ")
    return bigrams(text) | bigrams(" ".join(expansions))


@dataclass(frozen=True)
class Hit:
    version: ItemVersion
    score: float


def _documents(version: ItemVersion) -> dict[str, set[str]]:
    name = version.name.replace("一件事", " ")
    return {
        "name": bigrams(name),
        "keywords": bigrams(version.keywords),
        "matters": bigrams(" ".join(m.name for m in version.matters.all())),
        "summary": bigrams(version.summary),
        "stage": bigrams(str(Stage(version.item.stage).label)),
    }


def rank(query: str, versions: Sequence[ItemVersion], *, limit: int | None = None) -> list[Hit]:
    """Versions matching ``query``, best first (ties in list order). An empty query matches nothing."""
    terms = query_terms(query)
    if not terms:
        return []
    docs = [_documents(v) for v in versions]
    n = len(docs)
    df: dict[str, int] = {}
    for d in docs:
        for t in set().union(*d.values()) & terms:
            df[t] = df.get(t, 0) + 1
    idf = {t: math.log(1.0 + n / c) for t, c in df.items()}
    hits = []
    for version, d in zip(versions, docs, strict=True):
        score = sum(
            FIELD_WEIGHTS[f] * sum(idf[t] for t in grams & terms if t in idf) for f, grams in d.items()
        )
        if score > 0:
            hits.append(Hit(version=version, score=round(score, 3)))
    hits.sort(key=lambda h: -h.score)
    return hits[:limit] if limit is not None else hits


def search(query: str, versions: Iterable[ItemVersion], *, limit: int | None = None) -> list[ItemVersion]:
    return [h.version for h in rank(query, list(versions), limit=limit)]
