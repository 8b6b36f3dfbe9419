"""Realistic citizen messages (诉求) and government replies (答复) for the demo city, from the demo taxonomy's
matters (:mod:`shizhi.hotline.demo.taxonomy`) and real street, community and road names; or, with a path to the
2020 泰迪杯 message-board data, real citizens' messages (``train.csv``: 留言主题, 留言详情, 一级标签).

Everything takes a ``random.Random``: the same seed gives the same texts. Replies are mostly complete (who
handled it, what was done, the result and when, a contact, the policy basis for an explanation or a refusal),
with a share of deliberately weak ones (“已转相关部门处理”) that a reply-quality review should catch."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from shizhi.hotline.demo.taxonomy import Issue, Topic

# fmt: off
ROADS = ("人民路", "解放路", "中山路", "新华路", "建设路", "文化路", "府前街", "江滨大道", "环城东路", "环城南路",
         "环城西路", "环城北路", "学院路", "和平路", "东海大道", "市府大道", "青年路", "工人路", "劳动路", "开发大道",
         "迎宾大道", "凤凰路", "望江路", "光明路", "兴业街", "振兴路", "东升路", "永安路", "花园路", "桥头街",
         "横街路", "银河路", "繁荣路", "商城路", "体育场路")
# fmt: on
_ESTATE_ENDINGS = ("园", "苑", "里", "坊", "村", "庭", "城", "居")


@dataclass(frozen=True)
class Place:
    """Where a matter is: names of the demo city's areas and a plausible address inside them."""

    district: str
    street: str
    community: str
    rural: bool
    address: str  # 江城区长安街道荷花花园社区人民路128号荷花花园12幢
    spot: str  # the short form for a title: 荷花花园 / 人民路 / 后坂村


def make_place(rng: random.Random, *, district: str, street: str, community: str, rural: bool) -> Place:
    base = re.sub(r"(社区|村)$", "", community)
    if rural:
        group = rng.randint(1, 12)
        address = f"{district}{street}{community}{group}组{rng.randint(1, 80)}号"
        return Place(district, street, community, True, address, community)
    road = rng.choice(ROADS)
    estate = base if base.endswith(_ESTATE_ENDINGS) else base + rng.choice(("小区", "花园", "苑", "新村"))
    if rng.random() < 0.6:
        address = f"{district}{street}{community}{road}{rng.randint(1, 399)}号{estate}{rng.randint(1, 30)}幢"
        spot = estate
    else:
        address = f"{district}{street}{road}{rng.randint(1, 399)}号附近"
        spot = road
    return Place(district, street, community, False, address, spot)


def _since(rng: random.Random, received: dt.date) -> str:
    roll = rng.random()
    if roll < 0.3:
        start = received - dt.timedelta(days=rng.randint(2, 20))
        return f"从{start.month}月{start.day}日开始，"
    return rng.choice(
        (
            "最近一个多星期，",
            "这几天，",
            "已经有好几天了，",
            "这个问题持续快一个月了，",
            "从上周开始，",
            "今天早上，",
        )
    )


def citizen_message(
    rng: random.Random,
    topic: Topic,
    place: Place,
    received: dt.date,
    demand_type: str,
    index: int | None = None,
) -> tuple[str, str, int]:
    """(title, content, index of the issue) for a citizen's request; ``index`` picks the matter."""
    index = rng.randrange(len(topic.issues)) if index is None else index
    issue = topic.issues[index]
    greet = rng.choice(("", "您好，", "你好，", "领导您好！", "尊敬的领导：您好！"))
    who = rng.choice(
        (
            f"我是{place.community}的居民",
            f"我家住在{place.address}",
            f"本人住在{place.address}",
            "我是附近的住户",
        )
    )
    where = "" if place.address in who else f"，地址在{place.address}"
    if demand_type == "inquiry" or topic.demand == "inquiry":
        title = rng.choice((f"咨询{issue.short}的问题", f"{issue.short}怎么办理？", f"请问{issue.short}"))
        content = f"{greet}{issue.what}，想咨询一下，请{issue.ask}。谢谢！"
        return title[:100], content, index
    if demand_type == "suggestion":
        title = rng.choice((f"关于{issue.short}的建议", f"建议{issue.ask}"))
        content = f"{greet}{who}。{issue.what}，{issue.impact or '希望得到重视'}。建议{issue.ask}。"
        return title[:100], content, index
    if demand_type == "praise":
        title = rng.choice((f"表扬{place.street}的工作人员", "感谢热线和承办单位", issue.short))
        content = f"{greet}{who}。{issue.what}，我要{issue.ask}。"
        return title[:100], content, index
    verb = "举报" if demand_type == "report" else rng.choice(("反映", "投诉", ""))
    title = rng.choice(
        (
            f"{place.spot}{issue.short}",
            f"{verb}{place.spot}{issue.short}",
            f"{place.street}{place.spot}{issue.short}，请尽快处理",
            f"{issue.short}问题长期得不到解决",
        )
    )
    tried = rng.choice(
        (
            "",
            "",
            "之前找过物业和社区，一直没有解决。",
            "已经打过好几次电话，没人管。",
            "在网上留言过一次，没有回复。",
        )
    )
    impact = f"{issue.impact}。" if issue.impact else ""
    ask = rng.choice(("希望有关部门", "请相关部门", "恳请政府", "麻烦"))
    thanks = rng.choice(("谢谢！", "盼复。", "", "感谢！"))
    content = (
        f"{greet}{who}{where}。{_since(rng, received)}{issue.what}。{impact}{tried}{ask}{issue.ask}。{thanks}"
    )
    return title[:100], content, index


@dataclass(frozen=True)
class Responder:
    unit: str
    phone: str
    contact: str  # 王主任
    staff: str  # the handler who went there


WEAK_REPLIES = (
    "您反映的问题已收悉，已转相关部门处理。",
    "经核实，情况属实，已责令整改。",
    "您好，该问题我单位将进一步加强管理，感谢您的监督。",
    "您反映的问题正在协调处理中，请耐心等待。",
    "已收悉，谢谢。",
)


def reply_text(
    rng: random.Random,
    *,
    topic: Topic,
    issue: Issue,
    title: str,
    received: dt.date,
    replied: dt.datetime,
    responder: Responder,
    quality: str,
) -> str:
    """The lead unit's reply. ``quality``: good, explain (a refusal with its basis), or weak."""
    if quality == "weak":
        return rng.choice(WEAK_REPLIES)
    salutation = rng.choice(("市民朋友", "您好", "尊敬的市民"))
    contact = f"如有疑问，请联系{responder.contact}，电话{responder.phone}。"
    if quality == "explain" and topic.refusal:
        reason, suggestion = topic.refusal
        return (
            f"{salutation}：您于{received.month}月{received.day}日反映的“{title}”问题收悉。经{responder.unit}"
            f"调查核实，{reason}。根据{topic.basis}等有关规定，我单位无法按您的要求处理，"
            f"建议您{suggestion}。{contact}感谢您的理解！"
        )
    went = max(replied.date() - dt.timedelta(days=rng.randint(0, 2)), received)
    if topic.demand == "inquiry":
        return (
            f"{salutation}：您于{received.month}月{received.day}日咨询的“{title}”问题收悉。{responder.unit}工作人员"
            f"{responder.staff}已于{went.month}月{went.day}日电话联系您，{issue.done}。具体政策依据为{topic.basis}。"
            f"{contact}感谢您的来电！"
        )
    basis = (
        f"下一步，我单位将依据{topic.basis}加强日常监管，防止问题反弹。"
        if topic.basis and rng.random() < 0.5
        else ""
    )
    return (
        f"{salutation}：您于{received.month}月{received.day}日反映的“{title}”问题收悉。{responder.unit}高度重视，"
        f"{went.month}月{went.day}日安排工作人员{responder.staff}到现场核实处理。经核查，您反映的情况属实，"
        f"{issue.done}。{basis}{contact}感谢您对我们工作的支持！"
    )


def direct_answer(answer: str) -> str:
    return f"您好，关于您咨询的问题，答复如下：{answer}如有其他问题，欢迎再次拨打12345。"


PRAISE_REPLY = "感谢您对我们工作的肯定！您的表扬已转达相关单位和工作人员，我们将继续努力做好服务。"


def return_reason(rng: random.Random, unit: str) -> str:
    return rng.choice(
        (
            f"该事项不属于{unit}职责范围，请按派单目录改派属地街道办理。",
            f"经核实，诉求地点不在{unit}管辖范围内，申请退回重新派单。",
            f"该问题涉及多个部门职责，{unit}无执法权限，建议改派主管部门。",
        )
    )


def callback_note(rng: random.Random, satisfaction: int | None, solved: bool | None) -> str:
    if satisfaction is None:
        return rng.choice(("三次回访均未接通", "市民电话关机，无法回访", "市民表示不需要回访"))
    if satisfaction >= 4:
        return rng.choice(("市民表示问题已解决，满意", "市民对处理结果满意", "市民表示非常满意，感谢"))
    if solved:
        return rng.choice(("问题已解决，但市民认为处理太慢", "市民对答复态度不满意"))
    return rng.choice(
        ("市民表示问题没有解决，不满意", "市民认为答复敷衍，问题依旧", "现场未见整改，市民不满意")
    )


# ------------------------------------------------------------------------------------------ real messages

# The challenge's first-level labels, in the demo taxonomy's names.
LABEL_TO_TOP = {
    "城乡建设": "城乡建设",
    "劳动和社会保障": "劳动和社会保障",
    "教育文体": "教育",
    "商贸旅游": "市场监管",
    "卫生计生": "卫生健康",
    "环境保护": "生态环境",
    "交通运输": "交通运输",
}


@dataclass(frozen=True)
class RealMessage:
    label: str
    title: str
    content: str


def read_real_messages(path: str | Path) -> list[RealMessage]:
    """Labelled messages from ``train.csv`` (a file, or the folder that holds it), read where they lie."""
    from shizhi.hotline.importers import labelled_messages

    path = Path(path)
    if path.is_dir():
        path = path / "train.csv"
    return [RealMessage(*row) for row in labelled_messages(path)]


def assign_real_messages(
    messages: list[RealMessage], topics: tuple[Topic, ...]
) -> dict[tuple[str, ...], list[tuple[str, str]]]:
    """Each real message to the demo topic under its label's category whose keywords it mentions most (the
    heaviest topic when none match): topic path -> [(title, content)], in file order."""
    by_top: dict[str, list[Topic]] = defaultdict(list)
    for topic in topics:
        by_top[topic.path[0]].append(topic)
    pools: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
    for m in messages:
        top = LABEL_TO_TOP.get(m.label.split("|")[0])
        if top is None or not by_top[top]:
            continue
        text = m.title + m.content
        scored = [
            (sum(text.count(w) for w in t.keywords.split()), t.weight, i) for i, t in enumerate(by_top[top])
        ]
        best = max(scored)
        pools[by_top[top][best[2]].path].append((m.title, m.content))
    return pools
