"""Reply review (答复质量): how well a unit's reply answers a citizen's message, before it goes out.

Three scores in [0, 1], each with the concrete reasons:

- relevance (相关性): does it answer *this* message? The message's key terms (jieba's TF-IDF keywords of title
  and content), the title's character bigrams and the places it names (小区, 路, 村 ...), found in the reply.
- completeness (完整性): the five things a government reply should say, found by patterns: who handled it
  (办理单位), what was done (办理措施), the result (办理结果), when (办理时间), and a contact (联系方式). Weights
  0.2 / 0.25 / 0.3 / 0.15 / 0.1: the result is what the citizen asked for.
- interpretability (可解释性): when the reply refuses or says it cannot (不予, 无法, 不符合 ...), does it give a law
  or policy basis: a cited regulation (《...条例》), an article (第X条), a document number (〔2019〕2号), or at
  least 根据/依据/按照 ... 规定/政策? A refusal without a basis scores 0.1 (reasons only: 0.4) and is flagged. A reply
  that refuses nothing scores 0.6 bare, 0.85 with reasons or findings (经核实, 由于), 1.0 with a basis.

The overall score is the mean of the three. A dimension below its threshold (``settings.SHIZHI["AI_REVIEW"]``,
defaults in :data:`DEFAULTS`) is flagged, so the hotline can warn before the reply is sent. Everything is rules
and lexicons, nothing is fitted: see ``docs/ai.md`` for how the scores agree with two teams' labels on real replies.

Text quoted from the message (“...”) is left out when looking for what the reply itself says, and so is the
signature date at the very end (it is when the reply was written, not when the matter was handled).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy

DEFAULTS: dict[str, Any] = {
    "thresholds": {"relevance": 0.4, "completeness": 0.5, "interpretability": 0.5},
}
DIMENSIONS = ("relevance", "completeness", "interpretability")
RELEVANCE_FULL = 0.45  # the weighted coverage that counts as fully relevant
COMPLETENESS_WEIGHTS = {"handler": 0.2, "action": 0.25, "result": 0.3, "time": 0.15, "contact": 0.1}


def review_setting(name: str) -> Any:
    value = {**DEFAULTS, **getattr(settings, "SHIZHI", {}).get("AI_REVIEW", {})}[name]
    if name == "thresholds":
        return {**DEFAULTS["thresholds"], **value}
    return value


# --------------------------------------------------------------------------------------------------------------
# Lexicons of Chinese government replies
# --------------------------------------------------------------------------------------------------------------

_CJK = "\u4e00-\u9fff"
_UNIT_SUFFIX = (
    "局|委员会|办公室|办事处|管理处|管委会|服务中心|管理中心|事务中心|人民政府|政府|公司|派出所|分局|支队|大队|中队|"
    "居委会|村委会|执法队|管理所|管理站|供电所|卫生院|医院|指挥部|领导小组|工作组|专班"
)
# A character of a unit's name: not a function word or a verb that usually comes before one (联系, 到).
_UNIT_CHAR = rf"(?:(?![的了在和与是到从对向把被将及或等请联系您你我他她由经])[{_CJK}A-Za-z0-9])"
HANDLER = re.compile(
    rf"(?:我|本)(?:局|委|办|厅|院|中心|站|所|队|公司|单位|部门|街道|镇|乡|县|区|市|处|科|馆|会|司)"
    rf"|{_UNIT_CHAR}{{2,8}}?(?:{_UNIT_SUFFIX})"
    rf"|{_UNIT_CHAR}{{1,8}}?(?:街道|社区|村)(?!道)"
    r"|工作人员|执法人员|网格员|社区干部|村干部|民警|城管队员|巡查员|技术人员|维修人员|施工人员"
)
ACTION = re.compile(
    r"经(?:过)?(?:调查|核实|核查|查|了解|现场|研究|协调|走访|排查|检查|勘查|勘察|会商|审核|审查|测量|检测)"
    r"|调查|核实|核查|走访|约谈|协调|督促|责令|立案|检查|排查|巡查|勘查|勘察|检测|测量|召开|组织|安排|派出|派员"
    r"|赶赴|前往|到场|现场|上门|联系了|沟通|整改|维修|修复|抢修|清理|清运|疏通|拆除|查处|处罚|罚款|取缔|查封|扣押"
    r"|调解|协商|回访|跟踪|督办|制定|出台|开展|实施|启动|推进|处置|更换|安装|修缮|改造|治理|整治|答复了|解答"
)
FORWARD = re.compile(r"转交|转办|转至|转给|交由|移交|转相关|已转|转请|转送")
RESULT = re.compile(
    r"已(?:经)?(?:全部|基本|按要求|依法)?(?:解决|完成|修复|修好|整改|处理完毕|处理完|处理到位|清理|清运|恢复|办结|落实"
    r"|安装|拆除|更换|疏通|查处|处罚|立案|到位|发放|调整|纠正|关闭|停止|取缔|整治|修缮|改造|建成|完工|竣工|通车|开通"
    r"|退还|退款|补发|支付|兑现|签订|办理|批复|审批|解答|启动|责令|下达|纳入|列入|消除|排除|达成|结案)"
    r"|(?:现已|目前已|问题已)(?!经?(?:转|交|收悉|收到|移送|受理|登记|记录))"
    r"|(?:处理|办理|调查|核查|核实|检测|检查)结果|结果(?:如下|是|为)"
    r"|(?:情况)?(?:不)?属实|不存在|符合|不符合|(?:可以|不能|无法|不予)(?:办理|享受|申请|受理|支持|补偿|审批)"
    r"|预计|计划(?:于|在)|将于|将在|争取|力争|(?:年底|月底|年内|近期)(?:前)?(?:完成|完工|解决|实施)"
)
TIME = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|今年|去年|明年|本月|上月|下月|本周|近日|日前|当天|当日|次日|随即|立即|第一时间|年底|月底|年初|上旬|中旬|下旬"
    r"|\d+\s*个?\s*(?:工作日|小时|天|日|周|个月)\s*(?:内|之内|以内)"
)
CONTACT = re.compile(
    r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}\s*[-－—]+\s*\d[\d\s\-－—]{5,}|(?<!\d)\d{3,4}[-－—]+\d{4,}"
    r"|[（(]\s*\d{7,8}\s*[）)]|(?<!\d)(?:12345|12333|12315|12369|12319|12366|110|119|120|95598)(?!\d)"
    r"|(?:联系|咨询|服务|举报|投诉|监督|值班|办公|客服)电话|联系人|热线|邮箱|@[A-Za-z0-9]|电话\s*[:：]?\s*\d"
)
REFUSAL = re.compile(
    r"不予|无法|不能|不可以|不可|不符合|不属于|不在[^。，；]{0,10}(?:范围|计划|规划|之列)|暂不|暂无|暂未|暂时(?:无法|不能|不)"
    r"|不宜|不具备|未能|难以|尚不|不支持|驳回|不适用|不允许|不同意|不批准|没有[^。，；]{0,6}(?:依据|政策|规定|条件|计划)"
)
POLICY_WORDS = "法|条例|办法|规定|规则|细则|意见|通知|方案|决定|标准|规范|纲要|规划|政策|制度|准则|批复|解释|目录|指南|守则|章程|公告|通告|令"
BASIS_SPECIFIC = re.compile(
    rf"《[^》]{{0,60}}(?:{POLICY_WORDS})[^》]{{0,20}}》"
    r"|第[一二三四五六七八九十百零〇两\d]+条"
    r"|[〔\[［（(【﹝]\s*\d{4}\s*[〕\]］）)】﹞]\s*\d+\s*号"
)
BASIS_GENERIC = re.compile(
    r"(?:根据|依据|按照|依照|遵照|参照|依)[^。；！？]{0,40}?(?:规定|条例|办法|政策|文件|标准|要求|精神|规范|法律|法规|通知|意见|程序|规划|方案|细则)"
    r"|(?:政策|法律|法规|相关|有关|明确|文件)规定|依法|法律依据|政策依据|于法无据"
)
REASON = re.compile(
    r"因为|由于|原因是|原因在于|主要原因|因此|所以|鉴于|考虑到|之所以|导致|造成|致使|因该|因其|因受|目的是|是为了"
)
FINDINGS = re.compile(
    r"经(?:调查|核实|核查|查|了解|现场)|据查|经查|调查发现|核实发现|现场查看|情况如下|情况是|据了解"
)
QUOTED = re.compile(r"“[^”]{0,120}”|\"[^\"]{0,120}\"|「[^」]{0,120}」|‘[^’]{0,120}’")
SIGNATURE_DATE = re.compile(
    r"(?:\d{4}\s*[年./-]\s*\d{1,2}\s*[月./-]\s*\d{1,2}\s*日?|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*[。.]?\s*$"
)
# A character of a place's name: not a function word, a verb of asking, or a word of position.
_NAME_CHAR = rf"(?:(?![的了在和与是到从对向把被将及或等个号门口里内外旁边附近求请问解决知道说但因我你他她咨询反映投诉举报现])[{_CJK}])"
PLACE = re.compile(
    rf"[A-Z]\d{{1,2}}(?:市|区|县)"
    rf"|{_NAME_CHAR}{{2,6}}?(?:省|市|区|县|镇|乡|街道|村|社区|小区|花园|苑|园|路|街|大道|巷|公园|广场|学校|中学|小学|幼儿园|医院|大厦|市场|车站|站)"
)
# Words of a message that say nothing about its matter.
GENERIC_TERMS = frozenset(
    str.split(
        "问题 反映 情况 希望 请问 咨询 投诉 举报 建议 关于 相关 部门 政府 领导 你好 "
        "您好 谢谢 市民 网友 请求 要求 我们 他们 什么 为什么 怎么 如何 是否 可以 能否 "
        "一下 现在 目前 已经 一直 没有 不能 解决 处理 尽快 有关 进行 工作 严重 影响 "
        "存在 出现 这个 那个 这样 还是 就是 但是 因为 所以 非常 很多 一些 这些 以及 "
        "之后 以来 时候 知道 需要 应该 不是 还有"
    )
)
_TITLE_NOISE = re.compile(
    r"关于|问题|反映|咨询|投诉|举报|建议|希望|请求|请问|要求|强烈|恳请|为什么|怎么|如何|能否|是否|的|了|吗|呢|？|\?"
)


def clean(text: str) -> str:
    """The text as people read it: the spreadsheets' ``_x000D_`` and runs of whitespace removed (a space is
    kept between two Latin letters or digits)."""
    text = (text or "").replace("_x000D_", " ").replace("\u3000", " ")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"(?<=[^A-Za-z0-9]) | (?=[^A-Za-z0-9])", "", text)


# --------------------------------------------------------------------------------------------------------------
# Key terms (jieba, loaded once per process on first use)
# --------------------------------------------------------------------------------------------------------------

# Parts of speech a key term may have: nouns (also place and organisation names), verbs, idioms; not person
# names (the citizen's or the official's), pronouns, numbers or Latin letters.
KEY_POS = ("n", "ns", "nz", "nt", "nl", "ng", "vn", "v", "an", "nrt", "l", "i")
_JIEBA_LOCK = threading.Lock()
_jieba_ready = False


def _extract_tags(text: str, top: int) -> list[tuple[str, float]]:
    global _jieba_ready
    import jieba
    import jieba.analyse

    if not _jieba_ready:
        with _JIEBA_LOCK:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    tags = jieba.analyse.extract_tags(text, topK=top, withWeight=True, allowPOS=KEY_POS)
    return [(str(w), float(s)) for w, s in tags]


def key_terms(title: str, content: str, top: int = 10) -> list[tuple[str, float]]:
    """The message's key terms with weights: jieba's TF-IDF keywords, without generic words and numbers; a term
    of the title weighs half again as much."""
    title, content = clean(title), clean(content)
    out = []
    for word, weight in _extract_tags(f"{title}。{title}。{content}", top * 2):
        if len(word) < 2 or word in GENERIC_TERMS or not re.search(f"[{_CJK}]", word):
            continue
        out.append((word, weight * (1.5 if word in title else 1.0)))
        if len(out) == top:
            break
    return out


def places(text: str) -> list[str]:
    """Place names in ``text`` (roads, estates, villages, districts ...), by their suffixes; longest first."""
    found: list[str] = []
    for m in PLACE.finditer(clean(text)):
        name = m.group(0)
        if name not in found and not name.endswith(("地区", "小区内", "市民", "区域")):
            found.append(name)
    return found


def _place_mentioned(place: str, reply: str) -> bool:
    """A place counts as named when the reply has it, or its last two characters before the suffix with the
    suffix (景蓉华苑 -> 蓉华苑): the message's name often has a prefix the reply leaves out."""
    if place in reply:
        return True
    m = re.match(r"^[A-Z]\d{1,2}(?:市|区|县)$", place)
    if m:
        return False
    return len(place) >= 4 and place[-3:] in reply


def _bigrams(text: str) -> set[str]:
    chars = re.sub(r"[^\w]", " ", text.lower())
    return {chars[i : i + 2] for i in range(len(chars) - 1) if " " not in chars[i : i + 2]}


# --------------------------------------------------------------------------------------------------------------
# The review
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """One finding: which dimension, a stable code for programs, and the words for people."""

    dimension: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"dimension": self.dimension, "code": self.code, "message": self.message}


@dataclass
class ReplyReview:
    """Scores in [0, 1] per dimension, the flagged (weak) dimensions, the reasons, the overall score, and what
    was found (evidence: the terms, places, units, contacts, bases the patterns matched)."""

    scores: dict[str, float]
    flags: list[str]
    reasons: list[Reason]
    overall: float
    missing: list[str] = field(default_factory=list)  # completeness elements not found (codes)
    refusal: bool = False
    found: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.flags

    def reasons_for(self, dimension: str) -> list[str]:
        return [r.message for r in self.reasons if r.dimension == dimension]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scores": self.scores,
            "overall": self.overall,
            "flags": self.flags,
            "ok": self.ok,
            "missing": self.missing,
            "refusal": self.refusal,
            "reasons": [r.as_dict() for r in self.reasons],
            "found": self.found,
        }


def _matches(pattern: re.Pattern[str], text: str, limit: int = 5) -> list[str]:
    out: list[str] = []
    for m in pattern.finditer(text):
        if m.group(0) not in out:
            out.append(m.group(0))
        if len(out) == limit:
            break
    return out


ELEMENT_LABELS = {
    "handler": gettext_lazy("办理单位"),
    "action": gettext_lazy("办理措施"),
    "result": gettext_lazy("办理结果"),
    "time": gettext_lazy("办理时间"),
    "contact": gettext_lazy("联系方式"),
}


def _relevance(
    title: str, content: str, reply: str, found: dict[str, list[str]]
) -> tuple[float, list[Reason]]:
    reasons: list[Reason] = []
    terms = key_terms(title, content)
    total = sum(w for _, w in terms)
    reply_grams = _bigrams(reply)
    hit = [t for t, _ in terms if t in reply]
    # A term counts fully when the reply has it, half when it has part of a longer term (新府名邸 -> 名邸).
    keyword = (
        sum(
            w if t in reply else 0.5 * w if len(t) > 2 and _bigrams(t) & reply_grams else 0.0
            for t, w in terms
        )
        / total
        if total
        else 0.0
    )
    found["key_terms"] = [t for t, _ in terms]
    found["key_terms_in_reply"] = hit
    title_grams = _bigrams(_TITLE_NOISE.sub(" ", clean(title)))
    subject = len(title_grams & reply_grams) / len(title_grams) if title_grams else keyword
    message_places = places(f"{title}。{content}")[:5]
    found["places"] = message_places
    named = [p for p in message_places if _place_mentioned(p, reply)]
    if message_places:
        raw = 0.5 * keyword + 0.3 * subject + 0.2 * (1.0 if named else 0.0)
    else:
        raw = 0.6 * keyword + 0.4 * subject
    # A reply answers in its own words: covering about half of what the message is about is already a full
    # answer, a quarter is borderline (0.5), an unrelated reply shares almost nothing (< 0.1).
    score = min(1.0, raw / RELEVANCE_FULL)
    if terms and keyword < 0.3:
        missing = gettext("、").join([t for t, _ in terms if t not in reply][:5])
        reasons.append(
            Reason(
                "relevance",
                "few_key_terms",
                gettext("答复很少涉及诉求中的关键词（%(terms)s）") % {"terms": missing},
            )
        )
    if title_grams and subject < 0.3:
        reasons.append(Reason("relevance", "off_subject", gettext("答复未回应诉求的主题")))
    if message_places and not named:
        reasons.append(
            Reason(
                "relevance",
                "place_not_named",
                gettext("答复未提及诉求中的地点（%(places)s）")
                % {"places": gettext("、").join(message_places[:3])},
            )
        )
    return score, reasons


def _completeness(reply: str, found: dict[str, list[str]]) -> tuple[float, list[str], list[Reason]]:
    evidence = {
        "handler": _matches(HANDLER, reply),
        "action": _matches(ACTION, reply),
        "result": _matches(RESULT, reply),
        "time": _matches(TIME, reply),
        "contact": _matches(CONTACT, reply),
    }
    for key, values in evidence.items():
        found[key] = values
    missing = [k for k in COMPLETENESS_WEIGHTS if not evidence[k]]
    score = float(sum(w for k, w in COMPLETENESS_WEIGHTS.items() if evidence[k]))
    reasons: list[Reason] = []
    if missing:
        labels = gettext("、").join(str(ELEMENT_LABELS[k]) for k in missing)
        reasons.append(Reason("completeness", "missing", gettext("缺少：%(items)s") % {"items": labels}))
    forwarded = _matches(FORWARD, reply)
    if forwarded and not evidence["result"]:
        reasons.append(Reason("completeness", "forwarded_only", gettext("只说明已转交，未说明办理情况")))
    return round(score, 4), missing, reasons


def _interpretability(reply: str, found: dict[str, list[str]]) -> tuple[float, bool, list[Reason]]:
    refusals = _matches(REFUSAL, reply)
    specific = _matches(BASIS_SPECIFIC, reply)
    generic = _matches(BASIS_GENERIC, reply)
    reasons_given = _matches(REASON, reply) + _matches(FINDINGS, reply)
    found["refusal"], found["basis"], found["explanation"] = refusals, specific + generic, reasons_given
    reasons: list[Reason] = []
    if refusals:
        if specific:
            score = 1.0
        elif generic:
            score = 0.8
        elif reasons_given:
            score = 0.4
            reasons.append(
                Reason(
                    "interpretability",
                    "refusal_without_basis",
                    gettext("表示无法办理或不予支持（%(words)s），只说明了原因，未说明法律或政策依据")
                    % {"words": gettext("、").join(refusals[:3])},
                )
            )
        else:
            score = 0.1
            reasons.append(
                Reason(
                    "interpretability",
                    "refusal_without_basis",
                    gettext("表示无法办理或不予支持（%(words)s），但未说明理由和法律或政策依据")
                    % {"words": gettext("、").join(refusals[:3])},
                )
            )
        if generic and not specific:
            reasons.append(
                Reason(
                    "interpretability",
                    "basis_not_named",
                    gettext("引用了规定，但未写明具体的法规、条款或文件"),
                )
            )
        return score, True, reasons
    if specific or generic:
        return 1.0, False, reasons
    if reasons_given:
        return 0.85, False, reasons
    reasons.append(Reason("interpretability", "no_explanation", gettext("未说明理由、核查情况或依据")))
    return 0.6, False, reasons


def review_reply(*, message_title: str, message_content: str, reply: str) -> ReplyReview:
    """Score ``reply`` as the answer to the message (title and content): relevance, completeness and
    interpretability in [0, 1], the weak ones flagged, with reasons."""
    thresholds = review_setting("thresholds")
    text = clean(reply)
    if not text:
        reasons = [Reason(d, "empty", gettext("答复为空")) for d in DIMENSIONS]
        return ReplyReview(
            scores=dict.fromkeys(DIMENSIONS, 0.0),
            flags=list(DIMENSIONS),
            reasons=reasons,
            overall=0.0,
            missing=list(COMPLETENESS_WEIGHTS),
        )
    # What the reply itself says: without the message quoted back, without the signature date.
    own = SIGNATURE_DATE.sub("", QUOTED.sub("", text)).strip()
    found: dict[str, list[str]] = {}
    relevance, r1 = _relevance(message_title, message_content, text, found)
    completeness, missing, r2 = _completeness(own, found)
    interpretability, refusal, r3 = _interpretability(own, found)
    scores = {
        "relevance": round(relevance, 4),
        "completeness": round(completeness, 4),
        "interpretability": round(interpretability, 4),
    }
    flags = [d for d in DIMENSIONS if scores[d] < float(thresholds[d])]
    return ReplyReview(
        scores=scores,
        flags=flags,
        reasons=[*r1, *r2, *r3],
        overall=round(sum(scores.values()) / len(scores), 4),
        missing=missing,
        refusal=refusal,
        found=found,
    )
