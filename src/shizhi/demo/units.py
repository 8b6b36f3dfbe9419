"""The demo city's units (承办单位): city departments, district and county governments, street offices and
township governments, public utilities, social organisations and the 12345 hotline centre."""

from __future__ import annotations

import random
from dataclasses import dataclass

from shizhi.core.models import AreaLevel, UnitKind
from shizhi.core.services import ContactIn, UnitRow
from shizhi.demo import names
from shizhi.demo.city import Node
from shizhi.demo.scales import CITY_NAME, ScaleSpec

PHONE_AREA_CODE = "0576"
DATA_BUREAU_CODE = "dept-sjj"
HOTLINE_CODE = "hotline-12345"


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    short_name: str
    responsibilities: str


# City departments (职能部门), in the order a hotline dispatcher reaches for them. The data bureau comes
# third so that even the small scale has it (the data steward belongs to it).
# fmt: off
DEPARTMENTS = (
    UnitSpec("dept-cgj", "市城市管理局", "市城管局",
             "市容环境卫生、户外广告、占道经营、违法建设查处、渣土运输、市政设施和园林绿化的管理与执法。"),
    UnitSpec("dept-zjj", "市住房和城乡建设局", "市住建局",
             "房地产市场和物业服务监管、建筑工地施工管理、老旧小区改造、住房保障和城镇燃气安全监管。"),
    UnitSpec(DATA_BUREAU_CODE, "市政务服务和数据管理局", "市数据局",
             "政务服务事项管理、12345政务服务便民热线统筹、公共数据归集共享和数字政府建设。"),
    UnitSpec("dept-sthjj", "市生态环境局", "市生态环境局",
             "大气、水、土壤和噪声污染防治，工业企业排污监管，环境信访投诉的调查处理。"),
    UnitSpec("dept-jtysj", "市交通运输局", "市交通局",
             "城市公交、出租车和网约车监管，道路运输管理，公路养护和交通工程建设。"),
    UnitSpec("dept-scjgj", "市市场监督管理局", "市市场监管局",
             "市场主体登记、消费者权益保护、食品药品安全、产品质量和价格监督检查。"),
    UnitSpec("dept-rsj", "市人力资源和社会保障局", "市人社局",
             "就业创业服务、社会保险经办、劳动关系协调、欠薪投诉和劳动保障监察。"),
    UnitSpec("dept-jyj", "市教育局", "市教育局",
             "学前教育、义务教育和高中阶段教育管理，招生入学、校外培训机构和校园安全监管。"),
    UnitSpec("dept-wjw", "市卫生健康委员会", "市卫健委",
             "医疗机构和医疗服务监管、公共卫生和疾病预防控制、医患纠纷调处、人口家庭服务。"),
    UnitSpec("dept-mzj", "市民政局", "市民政局",
             "社会救助、养老服务、儿童福利、婚姻登记、殡葬管理和社会组织登记管理。"),
    UnitSpec("dept-swj", "市水务局", "市水务局",
             "供水排水和污水处理监管、城市防汛排涝、河道管理和水资源保护。"),
    UnitSpec("dept-gaj", "市公安局", "市公安局",
             "社会治安管理、户籍和出入境管理、道路交通安全管理、噪声扰民等治安类事项处置。"),
    UnitSpec("dept-yjglj", "市应急管理局", "市应急局",
             "安全生产综合监管、自然灾害防治、应急救援和消防安全隐患的协调处置。"),
    UnitSpec("dept-nyncj", "市农业农村局", "市农业农村局",
             "农业生产、农村宅基地和人居环境整治、农产品质量安全和动物防疫。"),
    UnitSpec("dept-ybj", "市医疗保障局", "市医保局",
             "基本医疗保险和生育保险、医疗救助、医保定点机构管理和医保基金监管。"),
    UnitSpec("dept-zrzyj", "市自然资源和规划局", "市自然资源局",
             "国土空间规划、土地管理、不动产登记和违法用地查处。"),
    UnitSpec("dept-swuj", "市商务局", "市商务局",
             "商贸流通、电子商务、成品油流通和单用途预付卡监管。"),
    UnitSpec("dept-wglj", "市文化广电旅游局", "市文广旅局",
             "文化市场和旅游市场监管、公共文化服务、文物保护和广播电视管理。"),
)
UTILITIES = (
    UnitSpec("pu-water", f"{CITY_NAME}自来水有限公司", "自来水公司",
             "城市供水、水表和管网维修、停水通知、水费和水质问题处理。"),
    UnitSpec("pu-power", f"国网{CITY_NAME[:2]}供电公司", "供电公司",
             "电力供应、停电抢修、电费和用电报装、供电线路安全隐患处理。"),
    UnitSpec("pu-gas", f"{CITY_NAME[:2]}港华燃气有限公司", "燃气公司",
             "管道燃气供应、燃气报装和抢修、燃气安全检查。"),
    UnitSpec("pu-telecom", f"中国电信{CITY_NAME[:2]}分公司", "电信公司",
             "固定电话、宽带和移动通信服务，通信线路和基站问题处理。"),
    UnitSpec("pu-bus", f"{CITY_NAME}公共交通集团有限公司", "公交集团",
             "城市公交线路运营、站点设置、班次和驾乘服务问题处理。"),
)
SOCIAL_ORGANISATIONS = (
    UnitSpec("so-volunteer", f"{CITY_NAME}志愿服务联合会", "志愿者联合会",
             "组织志愿服务活动，对接社区和群众的志愿服务需求。"),
    UnitSpec("so-property", f"{CITY_NAME}物业管理协会", "物业协会",
             "物业服务行业自律，协助调处业主与物业企业之间的纠纷。"),
    UnitSpec("so-charity", f"{CITY_NAME}慈善总会", "慈善总会",
             "慈善募捐和救助，帮扶困难群众和特殊群体。"),
)
# fmt: on
HOTLINE = UnitSpec(
    HOTLINE_CODE,
    f"{CITY_NAME}12345政务服务便民热线中心",
    "12345热线",
    "受理群众的诉求、咨询和建议，派单、督办和回访，统计分析热点问题。",
)
# fmt: off
ROADS = ("人民路", "解放路", "中山路", "新华路", "建设路", "文化路", "府前街", "江滨大道", "环城东路", "环城南路",
         "环城西路", "环城北路", "学院路", "和平路")
# fmt: on


def unit_rows(spec: ScaleSpec, city: Node, rng: random.Random, mobiles: set[str]) -> list[UnitRow]:
    """All units, parents before children: departments, governments and their offices, utilities,
    social organisations, then the hotline centre (part of the data bureau). ``mobiles`` holds the
    numbers already given out."""
    old_town = city.children[0]
    civic_centre = f"{CITY_NAME}{old_town.name}市民大道1号市民中心"
    rows: list[UnitRow] = []

    def add(
        unit: UnitSpec, kind: str, area: Node, titles: tuple[str, str], address: str = "", phone: str = ""
    ) -> None:
        address = address or _address(rng, area)
        rows.append(_row(rng, mobiles, unit, kind, area.code, address, phone or _landline(rng), titles))

    for i, d in enumerate(DEPARTMENTS[: max(3, spec.departments)], start=1):
        add(d, UnitKind.DEPARTMENT, city, ("局长", "办公室主任"), address=f"{civic_centre}{i}号楼")
    for district in city.children:
        duty = (
            f"{district.name}行政区域内的经济社会发展、城乡建设、民生保障和社会治理，统筹各部门和街道乡镇。"
        )
        gov = UnitSpec(f"gov-{district.code[:6]}", f"{district.name}人民政府", f"{district.name}政府", duty)
        add(
            gov,
            UnitKind.DISTRICT_GOVERNMENT,
            district,
            ("区长" if district.kind == "区" else "县长", "办公室主任"),
        )
    for district in city.children:
        for street in district.children:
            rows.append(_street_row(rng, mobiles, district, street))
    for d in UTILITIES[: spec.utilities]:
        phone = f"{PHONE_AREA_CODE}-96{rng.randint(100, 999)}"
        add(d, UnitKind.PUBLIC_UTILITY, city, ("客服经理", "调度主管"), _address(rng, old_town), phone)
    for d in SOCIAL_ORGANISATIONS[: spec.social_organisations]:
        add(d, UnitKind.SOCIAL_ORGANISATION, city, ("秘书长", "联络员"), _address(rng, old_town))
    add(HOTLINE, UnitKind.HOTLINE_CENTRE, city, ("主任", "值班长"), address=civic_centre, phone="12345")
    rows[-1].parent_code = DATA_BUREAU_CODE
    return rows


def _landline(rng: random.Random) -> str:
    return f"{PHONE_AREA_CODE}-8{rng.randint(1000000, 9999999)}"


def _street_row(rng: random.Random, mobiles: set[str], district: Node, street: Node) -> UnitRow:
    if street.kind == "街道":
        kind, name, short = (
            UnitKind.STREET_OFFICE,
            f"{district.name}{street.name}办事处",
            f"{street.name}办事处",
        )
        duty = (
            f"{street.name}辖区内的社区建设、城市管理、社会治安综合治理、民政和社会保障，"
            "统筹辖区网格化服务管理，协调解决群众诉求。"
        )
        titles = ("主任", "平安办主任")
    else:
        kind, name, short = (
            UnitKind.TOWNSHIP_GOVERNMENT,
            f"{district.name}{street.name}人民政府",
            f"{street.name}政府",
        )
        duty = (
            f"{street.name}的经济发展、农业农村、村镇建设、社会事务和平安建设，"
            "指导村（社区）工作，统筹网格化服务管理。"
        )
        titles = ("镇长" if street.kind == "镇" else "乡长", "党政办主任")
    spec = UnitSpec(f"st-{street.code[:9]}", name, short, duty)
    row = _row(rng, mobiles, spec, kind, street.code, _address(rng, street), _landline(rng), titles)
    row.parent_code = f"gov-{district.code[:6]}"
    return row


def _row(
    rng: random.Random,
    mobiles: set[str],
    spec: UnitSpec,
    kind: str,
    area_code: str,
    address: str,
    phone: str,
    titles: tuple[str, str],
) -> UnitRow:
    contacts = [
        ContactIn(name=names.person_name(rng), title=titles[0], mobile=mobile(rng, mobiles), is_primary=True)
    ]
    if rng.random() < 0.6:
        contacts.append(ContactIn(name=names.person_name(rng), title=titles[1], mobile=mobile(rng, mobiles)))
    return UnitRow(
        code=spec.code,
        name=spec.name,
        kind=kind,
        area_code=area_code,
        short_name=spec.short_name,
        responsibilities=spec.responsibilities,
        phone=phone,
        address=address,
        contacts=contacts,
    )


def _address(rng: random.Random, area: Node) -> str:
    where = area.full_name() if area.level > AreaLevel.CITY else ""
    return f"{CITY_NAME}{where}{rng.choice(ROADS)}{rng.randint(1, 300)}号"


MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "180",
    "181",
    "182",
    "183",
    "186",
    "187",
    "188",
    "189",
)


def mobile(rng: random.Random, used: set[str]) -> str:
    """A plausible, unique 11-digit mobile number (13x, 15x or 18x)."""
    while True:
        number = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        if number not in used:
            used.add(number)
            return number
