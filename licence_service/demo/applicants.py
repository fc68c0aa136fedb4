"""Deterministic, realistic demo applicants for the three packaged licence types.

Demos and load tests need data that looks real to a Chinese reviewer (company names,
person names, addresses, valid ID numbers) yet is reproducible, so everything comes
from one seeded ``random.Random`` and a fixed reference date, never from the clock.
The generated numbers pass every validator but are synthetic; any resemblance to a
real person or company is accidental.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from licence_service.domain.national_ids import (
    PROVINCE_NAMES,
    USCC_ALPHABET,
    HolderIdType,
    make_citizen_id,
    make_organisation_code,
    make_uscc,
    validate_division_code,
)

__all__ = ["DEMO_TYPE_CODES", "REFERENCE_DATE", "DemoApplication", "demo_applications"]

DEMO_TYPE_CODES = ("BL01", "FP01", "DL01")
"""Business licence, food business permit, driving licence - cycled in this order."""

REFERENCE_DATE = date(2024, 12, 31)
"""'Today' for generated dates, fixed so the same seed gives the same data every day."""


@dataclass(frozen=True)
class DemoApplication:
    """One applicant: what a clerk would type into the issue form."""

    type_code: str
    holder_name: str
    holder_id_type: HolderIdType
    holder_id: str
    fields: dict[str, str]


@dataclass(frozen=True)
class _Place:
    division: str
    city: str
    district: str


# Real division codes; cities equal to the province name are municipalities.
_PLACES: dict[str, tuple[_Place, ...]] = {
    "11": (
        _Place("110101", "北京市", "东城区"),
        _Place("110102", "北京市", "西城区"),
        _Place("110105", "北京市", "朝阳区"),
        _Place("110108", "北京市", "海淀区"),
    ),
    "31": (
        _Place("310101", "上海市", "黄浦区"),
        _Place("310104", "上海市", "徐汇区"),
        _Place("310115", "上海市", "浦东新区"),
    ),
    "32": (
        _Place("320102", "南京市", "玄武区"),
        _Place("320106", "南京市", "鼓楼区"),
        _Place("320508", "苏州市", "姑苏区"),
        _Place("320214", "无锡市", "新吴区"),
    ),
    "33": (
        _Place("330102", "杭州市", "上城区"),
        _Place("330106", "杭州市", "西湖区"),
        _Place("330108", "杭州市", "滨江区"),
        _Place("330110", "杭州市", "余杭区"),
        _Place("330203", "宁波市", "海曙区"),
        _Place("330212", "宁波市", "鄞州区"),
        _Place("330302", "温州市", "鹿城区"),
        _Place("330402", "嘉兴市", "南湖区"),
        _Place("330602", "绍兴市", "越城区"),
        _Place("330702", "金华市", "婺城区"),
    ),
    "35": (
        _Place("350102", "福州市", "鼓楼区"),
        _Place("350203", "厦门市", "思明区"),
        _Place("350206", "厦门市", "湖里区"),
    ),
    "37": (
        _Place("370102", "济南市", "历下区"),
        _Place("370202", "青岛市", "市南区"),
    ),
    "44": (
        _Place("440106", "广州市", "天河区"),
        _Place("440103", "广州市", "荔湾区"),
        _Place("440305", "深圳市", "南山区"),
        _Place("440303", "深圳市", "罗湖区"),
        _Place("440604", "佛山市", "禅城区"),
    ),
    "51": (
        _Place("510104", "成都市", "锦江区"),
        _Place("510107", "成都市", "武侯区"),
    ),
}
# Other provinces: one central district of the capital, so every province gets real codes.
_CAPITALS = (
    ("120101", "天津市", "和平区"),
    ("130102", "石家庄市", "长安区"),
    ("140105", "太原市", "小店区"),
    ("150102", "呼和浩特市", "新城区"),
    ("210102", "沈阳市", "和平区"),
    ("220102", "长春市", "南关区"),
    ("230102", "哈尔滨市", "道里区"),
    ("340104", "合肥市", "蜀山区"),
    ("360102", "南昌市", "东湖区"),
    ("410105", "郑州市", "金水区"),
    ("420102", "武汉市", "江岸区"),
    ("430104", "长沙市", "岳麓区"),
    ("450103", "南宁市", "青秀区"),
    ("460106", "海口市", "龙华区"),
    ("500103", "重庆市", "渝中区"),
    ("520102", "贵阳市", "南明区"),
    ("530102", "昆明市", "五华区"),
    ("540102", "拉萨市", "城关区"),
    ("610113", "西安市", "雁塔区"),
    ("620102", "兰州市", "城关区"),
    ("630102", "西宁市", "城东区"),
    ("640104", "银川市", "兴庆区"),
    ("650102", "乌鲁木齐市", "天山区"),
)
for _code, _city, _district in _CAPITALS:
    _PLACES.setdefault(_code[:2], (_Place(_code, _city, _district),))

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾"
_GIVEN_MALE = ("晓东", "建国", "志强", "伟", "磊", "浩然", "子轩", "俊杰", "明", "国华", "宇航")
_GIVEN_FEMALE = ("春梅", "丽娟", "静", "晓燕", "雨萱", "芳", "婷婷", "秀英", "思琪", "慧敏")
_TRADE_NAMES = (
    "青禾",
    "云帆",
    "恒远",
    "博睿",
    "瑞丰",
    "星河",
    "锦程",
    "安信",
    "拓新",
    "九州",
    "嘉禾",
    "启明",
    "润泽",
    "天成",
    "鼎盛",
    "华鑫",
    "明德",
    "翠微",
    "沐阳",
    "知行",
)
_STREETS = (
    "文三路",
    "天目山路",
    "解放路",
    "中山路",
    "人民路",
    "建设路",
    "学院路",
    "江南大道",
    "和平路",
    "长江路",
    "新华路",
    "滨江路",
    "科技路",
    "府前街",
    "青年路",
    "延安路",
)
_BUSINESSES = (
    (
        "科技",
        "技术开发、技术服务、技术咨询、成果转让；软件开发；信息系统集成服务",
    ),
    ("贸易", "日用百货、五金交电、电子产品、服装鞋帽的批发、零售；货物进出口"),
    ("建筑工程", "房屋建筑工程、市政公用工程施工；建筑装饰装修工程设计与施工"),
    ("文化传媒", "文化艺术交流活动策划；广告设计、制作、代理、发布；会议及展览服务"),
    ("物流", "普通货运；货物仓储（除危险品）；国内货运代理；供应链管理服务"),
    ("环保科技", "环保技术开发、技术服务；污水处理设备、废气处理设备的销售及安装"),
)
_APPROVAL_NOTE = "。（依法须经批准的项目，经相关部门批准后方可开展经营活动）"
_COMPANY_KINDS = (
    "有限责任公司（自然人投资或控股）",
    "有限责任公司（自然人独资）",
    "有限责任公司（非自然人投资或控股的法人独资）",
    "股份有限公司（非上市、自然人投资或控股）",
)
_CAPITAL = ("50万元", "100万元", "200万元", "300万元", "500万元", "1000万元", "3000万元")
_FOOD_BUSINESSES = (
    ("餐饮管理", "餐饮服务经营者", "热食类食品制售；冷食类食品制售；自制饮品制售"),
    ("餐饮", "餐饮服务经营者", "热食类食品制售；糕点类食品（含裱花蛋糕）制售"),
    (
        "食品贸易",
        "食品销售经营者",
        "预包装食品（含冷藏冷冻食品）销售；散装食品（不含冷藏冷冻食品）销售",
    ),
    (
        "超市",
        "食品销售经营者",
        "预包装食品（含冷藏冷冻食品）销售；保健食品销售；特殊医学用途配方食品销售",
    ),
    ("茶饮", "餐饮服务经营者", "自制饮品制售；冷食类食品制售"),
)
_VEHICLE_CLASSES = ("C1", "C1", "C1", "C2", "C1E", "B2", "A2", "A1", "D")


def _places(issuer_division: str) -> tuple[str, tuple[_Place, ...]]:
    """Province name and places in the issuer's province.

    Taiwan, Hong Kong and Macau have no sub-divisions in GB/T 2260, so there the
    issuer's own code is the only place.
    """
    division = validate_division_code(issuer_division, field="issuer_division")
    prefix = division[:2]
    province = PROVINCE_NAMES[prefix]
    places = _PLACES.get(prefix) or (_Place(division, province, ""),)
    return province, places


class _Generator:
    """Holds the seeded RNG and the issuer's province; one method per licence type."""

    def __init__(self, issuer_division: str, seed: int) -> None:
        self.rng = random.Random(seed)
        self.province, self.places = _places(issuer_division)
        self.used_names: set[str] = set()

    def place(self) -> _Place:
        return self.rng.choice(self.places)

    def address(self, place: _Place) -> str:
        city = "" if place.city == self.province else place.city
        street = self.rng.choice(_STREETS)
        return f"{self.province}{city}{place.district}{street}{self.rng.randint(1, 399)}号"

    def person_name(self, male: bool) -> str:
        given = _GIVEN_MALE if male else _GIVEN_FEMALE
        return self.rng.choice(_SURNAMES) + self.rng.choice(given)

    def company_name(self, place: _Place, industry: str) -> str:
        city = place.city
        for suffix in ("特别行政区", "市", "省"):
            city = city.removesuffix(suffix)
        for _ in range(50):
            name = f"{city}{self.rng.choice(_TRADE_NAMES)}{industry}有限公司"
            if name not in self.used_names:
                break
        self.used_names.add(name)
        return name

    def uscc(self, place: _Place) -> str:
        """A USCC whose positions 9-17 are a well-formed GB 11714 organisation code."""
        # Codes assigned since the 2015 reform start with "MA"; mimic that.
        org8 = "MA" + "".join(self.rng.choice(USCC_ALPHABET) for _ in range(6))
        return make_uscc(place.division, make_organisation_code(org8))

    def date_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, (end - start).days))

    def business_licence(self) -> DemoApplication:
        place = self.place()
        industry, scope = self.rng.choice(_BUSINESSES)
        founded = self.date_between(date(2005, 1, 1), REFERENCE_DATE)
        return DemoApplication(
            type_code="BL01",
            holder_name=self.company_name(place, industry),
            holder_id_type=HolderIdType.USCC,
            holder_id=self.uscc(place),
            fields={
                "类型": self.rng.choice(_COMPANY_KINDS),
                "法定代表人": self.person_name(self.rng.random() < 0.6),
                "注册资本": self.rng.choice(_CAPITAL),
                "成立日期": founded.isoformat(),
                "住所": self.address(place),
                "经营范围": scope + _APPROVAL_NOTE,
            },
        )

    def food_permit(self) -> DemoApplication:
        place = self.place()
        industry, form, items = self.rng.choice(_FOOD_BUSINESSES)
        residence = self.address(place)
        premises = residence + self.rng.choice(("一楼", "1幢101室", "底商", "二层"))
        city = "" if place.city == self.province else place.city
        supervisor = f"{city or self.province}{place.district}市场监督管理局"
        return DemoApplication(
            type_code="FP01",
            holder_name=self.company_name(place, industry),
            holder_id_type=HolderIdType.USCC,
            holder_id=self.uscc(place),
            fields={
                "法定代表人（负责人）": self.person_name(self.rng.random() < 0.5),
                "住所": residence,
                "经营场所": premises,
                "主体业态": form,
                "经营项目": items,
                "日常监督管理机构": supervisor,
            },
        )

    def driving_licence(self) -> DemoApplication:
        place = self.place()
        male = self.rng.random() < 0.55
        birth = self.date_between(date(1960, 1, 1), date(2004, 12, 31))
        sequence = self.rng.randrange(1 if male else 2, 1000, 2)  # odd = male, even = female
        adult = birth + timedelta(days=18 * 366)  # a licence needs age 18; 366 avoids leap maths
        first_licensed = self.date_between(adult, REFERENCE_DATE)
        return DemoApplication(
            type_code="DL01",
            holder_name=self.person_name(male),
            holder_id_type=HolderIdType.CITIZEN_ID,
            holder_id=make_citizen_id(place.division, birth, sequence),
            fields={
                "性别": "男" if male else "女",
                "国籍": "中国",
                "住址": self.address(place),
                "出生日期": birth.isoformat(),
                "初次领证日期": first_licensed.isoformat(),
                "准驾车型": self.rng.choice(_VEHICLE_CLASSES),
                "档案编号": place.division[:4] + f"{self.rng.randrange(10**8):08d}",
            },
        )


def demo_applications(count: int, issuer_division: str, seed: int = 7) -> list[DemoApplication]:
    """``count`` applicants cycling BL01, FP01, DL01, located in the issuer's province.

    Same ``(count, issuer_division, seed)`` gives the same list; a larger ``count``
    with the same seed extends the shorter list (the prefix is stable).
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    generator = _Generator(issuer_division, seed)
    makers = (generator.business_licence, generator.food_permit, generator.driving_licence)
    return [makers[i % len(makers)]() for i in range(count)]
