"""Chinese names for the demo city, from our own word lists (not Faker, whose output changes between
versions): places at every level, grids, and people. Every generator takes a ``random.Random`` so that the
same seed gives the same names, and a ``used`` set so that names stay unique within their parent."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Sequence

# Surnames with their approximate share (per mille) of the population, most common first.
_SURNAME_TABLE = """
王71 李70 张64 刘54 陈46 杨31 黄24 赵23 吴20 周19 徐15 孙15 马13 朱13 胡13 郭12 何12 林11 高11 罗10
郑10 梁9 谢8 宋8 唐8 许7 韩7 冯7 邓7 曹6 彭6 曾6 肖6 田5 董5 潘5 袁5 蔡5 蒋5 余5 于5 杜4 叶4 程4 魏4
苏4 吕4 丁4 任4 卢4 姚4 沈4 钟4 姜3 崔3 谭3 陆3 范3 汪3 廖3 石3 金3 韦3 贾3 夏3 付3 方3 邹3 熊3 白3
孟3 秦3 邱3 侯2 江2 尹2 薛2 闫2 段2 雷2 龙2 黎2 史2 陶2 贺2 毛2 郝2 顾2 龚2 邵2 万2 钱2 严2 戴2
楼1 应1 童1 俞1 章1 施1 翁1 欧阳0.5 诸葛0.2 司马0.2
"""
SURNAMES: tuple[tuple[str, float], ...] = tuple(
    (m[1], float(m[2]))
    for m in (re.fullmatch(r"(\D+)([\d.]+)", token) for token in _SURNAME_TABLE.split())
    if m
)
MALE_CHARS = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳建国志文海东峰亮成晨博然轩睿泽嘉德福荣"
)
FEMALE_CHARS = "芳娜敏静丽艳娟霞燕玲婷雪慧颖琳倩洁萍红梅莉兰琴云欣悦怡佳雨诗梦晓思涵萱妍秀英月凤桂"
NEUTRAL_CHARS = "子一安乐文明晓春秋思雨心家嘉宏新清"

# Urban districts (区): the first is the old town.
DISTRICT_NAMES = ("江城", "江北", "临港", "江南", "开元", "湖滨", "新港", "东岸")
# Counties (县) and towns/villages are combined from two syllables.
COUNTY_FIRST = "青云石桐松兰安永宁龙清丰泰武文仙常开遂天"
COUNTY_SECOND = "溪阳山源田川岩泉平和台居化昌门"
STREET_NAMES = (
    "东湖",
    "南门",
    "西城",
    "北苑",
    "望江",
    "滨江",
    "文昌",
    "新华",
    "解放",
    "人民",
    "城东",
    "城南",
    "城西",
    "城北",
    "江滨",
    "府前",
    "朝阳",
    "红旗",
    "建设",
    "中山",
    "和平",
    "光明",
    "长安",
    "胜利",
    "花园",
    "鼓楼",
    "学院",
    "天宁",
    "永兴",
    "凤凰",
    "白云",
    "紫金",
    "金桥",
    "青年",
    "东风",
    "翠苑",
    "锦绣",
    "兴隆",
    "万松",
    "莲花",
    "清波",
    "半山",
    "潮鸣",
    "九龙",
    "双塔",
    "古城",
    "新桥",
    "江湾",
    "临湖",
    "月湖",
    "柳营",
    "仁和",
)
PLACE_FIRST = "大小上下东西南北前后石梅桃杨柳桥白黄青马龙凤金双三横新古高长平汤竹枫茶桂岩洋湖溪塘"
PLACE_SECOND = "溪口头坑塘桥岭坞岙源田湾埠店市铺坪坂洋畈墅港浦山垄川渡"
COMMUNITY_FIRST = (
    "幸福",
    "和谐",
    "文苑",
    "锦绣",
    "翠竹",
    "桂花",
    "丹桂",
    "枫林",
    "清风",
    "明月",
    "阳光",
    "春晖",
    "兴业",
    "银河",
    "碧水",
    "绿洲",
    "景苑",
    "华庭",
    "东园",
    "西园",
    "南苑",
    "紫荆",
    "玉兰",
    "香樟",
    "梧桐",
    "海棠",
    "杏林",
    "星光",
    "百合",
    "金沙",
    "望湖",
    "临江",
    "观澜",
    "书香",
    "怡园",
    "秀水",
    "嘉禾",
    "康乐",
    "安居",
    "长青",
    "春江",
    "芳草",
    "荷花",
    "兰亭",
    "聚贤",
    "泰和",
    "永安",
    "瑞丰",
    "天河",
    "晨曦",
    "朝晖",
    "平安",
    "府东",
    "府西",
    "仓前",
    "米市",
    "盐仓",
    "水门",
    "石库",
    "运河",
    "新塘",
    "丁兰",
    "九堡",
    "彭埠",
    "凯旋",
)
COMMUNITY_SUFFIX = ("", "", "", "", "里", "苑", "园", "坊", "新村", "花园", "家园")
VILLAGE_SURNAMES = "王陈张李吴周徐朱胡郑林叶潘何蒋沈杨黄方童应楼"

_CHINESE_NUMERALS = "零一二三四五六七八九十"
_SURNAME_LIST = [s for s, _ in SURNAMES]
_SURNAME_CUM = list(itertools.accumulate(w for _, w in SURNAMES))


def unique(rng: random.Random, make: Callable[[random.Random], str], used: set[str], tries: int = 200) -> str:
    """A name from ``make`` not yet in ``used`` (added to it); numbered variants if the lists run dry."""
    for _ in range(tries):
        name = make(rng)
        if name not in used:
            used.add(name)
            return name
    base = make(rng)
    for n in itertools.count(2):
        name = f"{base}{chinese_number(n)}" if n <= 10 else f"{base}{n}"
        if name not in used:
            used.add(name)
            return name
    raise AssertionError("unreachable")


def chinese_number(n: int) -> str:
    """1..99 in Chinese numerals (for names such as 第十二网格)."""
    if n <= 10:
        return _CHINESE_NUMERALS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _CHINESE_NUMERALS[tens]
    return f"{head}十{_CHINESE_NUMERALS[ones] if ones else ''}"


def _pair(first: Sequence[str], second: Sequence[str]) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        a = rng.choice(first)
        b = rng.choice(second)
        return a + b if a != b else a + rng.choice(second)

    return make


def district_name(rng: random.Random, kind: str, used: set[str]) -> str:
    """区 names come from a fixed list (the first, 江城区, is the old town); 县 names are combined."""
    if kind == "区":
        free = [n + "区" for n in DISTRICT_NAMES if n + "区" not in used]
        if free:
            name = free[0] if free[0] == "江城区" else rng.choice(free)
            used.add(name)
            return name
        return unique(rng, lambda r: _pair(COUNTY_FIRST, COUNTY_SECOND)(r) + "区", used)
    return unique(rng, lambda r: _pair(COUNTY_FIRST, COUNTY_SECOND)(r) + "县", used)


def street_name(rng: random.Random, kind: str, used: set[str]) -> str:
    """街道 names from the list of typical urban names; 镇 and 乡 names combined from two syllables."""
    if kind == "街道":
        return unique(rng, lambda r: r.choice(STREET_NAMES) + "街道", used)
    return unique(rng, lambda r: _pair(PLACE_FIRST, PLACE_SECOND)(r) + kind, used)


def community_name(rng: random.Random, kind: str, used: set[str]) -> str:
    if kind == "社区":
        return unique(rng, lambda r: r.choice(COMMUNITY_FIRST) + r.choice(COMMUNITY_SUFFIX) + "社区", used)

    def village(r: random.Random) -> str:
        roll = r.random()
        if roll < 0.25:
            return r.choice(VILLAGE_SURNAMES) + r.choice("家宅店岙") + "村"
        if roll < 0.35:
            return r.choice("新联红光胜利幸福团结") + r.choice("村桥塘") + "村"
        return _pair(PLACE_FIRST, PLACE_SECOND)(r) + "村"

    return unique(rng, village, used)


def grid_name(community: str, n: int) -> str:
    """Grids are numbered within their community: 东湖社区第3网格."""
    return f"{community}第{n}网格"


def person_name(rng: random.Random, female: bool | None = None) -> str:
    """A plausible full name: a surname weighted by frequency and a one- or two-character given name."""
    surname = rng.choices(_SURNAME_LIST, cum_weights=_SURNAME_CUM)[0]
    if female is None:
        female = rng.random() < 0.5
    chars = FEMALE_CHARS if female else MALE_CHARS
    if rng.random() < 0.22:
        given = rng.choice(chars)
    elif rng.random() < 0.06 and female:
        given = rng.choice(chars) * 2
    else:
        first = rng.choice(chars + NEUTRAL_CHARS)
        second = rng.choice(chars)
        while second == first:
            second = rng.choice(chars)
        given = first + second
    return surname + given
