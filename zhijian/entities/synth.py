"""A deterministic, plausible synthetic market for the demo and the benchmarks.

Names follow the registration pattern 行政区划 + 字号 + 行业 + 组织形式; codes are valid
GB 32100 codes whose registering authority is the entity's county; industries are real
GB/T 4754-2017 codes. Nothing here comes from real registrations.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from . import creditcode

TRADE_CHARS = "鑫源华泰恒盛隆兴达丰瑞祥福嘉润宏伟新金鼎诚信安康明博众联创远德和顺通昌荣佳美益广志正海天利晟宇辰泓锦毅旭"
# (industry code, word in an enterprise's name, business scope, an individual shop's names): common
# trades, each named as such a business is (a restaurant 饭店/餐馆, a pharmacy 大药房), with the
# GB/T 4754-2017 class its business really is.
TRADES = [
    ("5211", "百货", "日用百货、预包装食品、针纺织品零售", ["百货商店", "百货店", "日用百货店"]),
    ("5212", "超市", "预包装食品、散装食品、日用百货销售", ["超市", "生活超市", "购物中心"]),
    ("5213", "便利店", "预包装食品、日用品零售", ["便利店", "便民超市", "便利店"]),
    ("5223", "果蔬", "新鲜水果、蔬菜零售", ["果蔬店", "水果店", "蔬菜店"]),
    ("5224", "生鲜", "鲜肉、禽蛋、水产品零售", ["生鲜店", "鲜肉店", "水产店"]),
    ("5222", "食品", "糕点、面包零售；预包装食品销售", ["面包房", "糕点店", "食品店"]),
    ("5226", "酒业", "酒类、饮料、茶叶零售", ["烟酒商行", "茶叶店", "酒水商行"]),
    ("5227", "烟草", "卷烟、雪茄烟零售", ["烟草店", "烟酒店"]),
    ("5225", "保健品", "保健食品、营养品零售", ["保健品店", "营养品店"]),
    ("5261", "汽车销售", "汽车、汽车配件销售", ["汽车销售服务部", "车行"]),
    ("5272", "家电", "日用家电销售及维修", ["家电商行", "电器商行"]),
    ("5281", "五金", "五金交电、建材销售", ["五金店", "五金建材商行"]),
    ("5232", "服装", "服装、鞋帽零售", ["服装店", "服饰店", "时装店"]),
    ("5234", "化妆品", "化妆品、卫生用品零售", ["化妆品店", "美妆店"]),
    ("5199", "商贸", "国内贸易；货物及技术进出口", ["商贸部", "商行"]),
    ("6210", "餐饮", "餐饮服务；热食类食品制售", ["饭店", "餐馆", "酒家", "菜馆"]),
    ("6220", "快餐", "快餐服务；热食类食品制售", ["快餐店", "面馆", "水饺馆"]),
    ("6291", "小吃", "小吃服务；热食类食品制售", ["小吃店", "烧烤店", "早餐店"]),
    ("6232", "咖啡", "饮品店经营；冷热饮品制售", ["咖啡馆", "奶茶店", "茶饮店"]),
    ("6110", "酒店", "住宿服务；餐饮服务", ["大酒店", "宾馆"]),
    ("8040", "美容美发", "理发及美容服务", ["理发店", "美发店", "美容院"]),
    ("8111", "汽车维修", "机动车维修；汽车配件销售", ["汽车维修部", "汽修厂"]),
    ("6513", "软件", "软件开发；信息技术咨询服务", ["软件工作室"]),
    ("6531", "信息技术", "信息系统集成服务；技术开发", ["网络工作室"]),
    ("7243", "企业管理咨询", "企业管理咨询；商务信息咨询", ["咨询服务部"]),
    ("7291", "旅行社", "国内旅游业务；入境旅游业务", ["旅游服务部"]),
    ("5431", "物流", "普通货运；仓储服务（不含危险化学品）", ["货运部", "物流部"]),
    ("4710", "建筑", "房屋建筑工程施工", ["建筑工程队"]),
    ("1499", "食品", "食品生产；预包装食品销售", ["食品加工坊", "食品厂"]),
    ("1512", "酒业", "白酒生产、销售", ["酒坊", "酿酒坊"]),
    ("2682", "化妆品", "化妆品生产、销售", ["日化厂"]),
    ("2720", "药业", "药品生产；医疗器械销售", ["制药厂"]),
    ("5251", "大药房", "药品零售；医疗器械经营", ["大药房", "药店", "医药商店"]),
    ("5254", "医疗器械", "第二类医疗器械零售", ["医疗器械店", "康复器材店"]),
    ("3581", "医疗器械", "第二类医疗器械生产、销售", ["医疗器械厂"]),
    ("3435", "电梯", "电梯安装、维修、保养", ["电梯维修部"]),
    ("8425", "诊所", "门诊服务", ["诊所", "门诊部"]),
    ("7259", "广告", "广告设计、制作、代理、发布", ["广告部", "图文广告店"]),
    ("0141", "蔬菜种植", "蔬菜种植、销售", ["蔬菜种植园"]),
]
ENTERPRISE_FORMS = ["有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司"]
# An enterprise's name says its trade: 济南鑫源餐饮管理有限公司, 济南鑫源大药房连锁有限公司.
ENTERPRISE_TRADE = {"6210": "餐饮管理", "6220": "餐饮管理", "6291": "餐饮管理", "6232": "餐饮管理", "5251": "大药房连锁",
                    "5212": "超市连锁", "5213": "便利店连锁", "6110": "酒店管理", "8040": "美容美发", "7291": "国际旅行社"}
COOP_FORMS = ["专业合作社", "种植专业合作社"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌波宁飞鹏辉"
ROADS = ["经十路", "解放路", "泉城路", "花园路", "工业南路", "二环东路", "历山路", "英雄山路", "旅游路", "北园大街",
         "人民路", "文化路", "建设路", "和平路", "新华路", "中山路", "东风路", "胜利路", "育才路", "振兴路"]


@dataclass
class Place:
    division_code: str   # town (9) or village (12) code
    county_code: str     # 6 digits: the registering authority in the credit code
    city_name: str       # 济南市
    county_name: str
    town_name: str
    village_name: str = ""


def synth_entities(places: list[Place], n: int, *, seed: int = 2026, point=None):
    """Yield n dicts ready for services/importer; ``point(place, rng)`` may give (lng, lat)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    for i in range(n):
        place = places[rng.randrange(len(places))]
        r = rng.random()
        kind = "1" if r < 0.62 else ("2" if r < 0.97 else "3")
        code = creditcode.generate(rng, place.county_code, kind)
        while code in seen:
            code = creditcode.generate(rng, place.county_code, kind)
        seen.add(code)
        trade_code, trade_word, scope, shop_words = TRADES[rng.randrange(len(TRADES))]
        if kind == "3":
            trade_code, trade_word, scope, shop_words = TRADES[-1]
        zihao = rng.choice(TRADE_CHARS) + rng.choice(TRADE_CHARS)
        city_short = place.city_name.removesuffix("市")
        if kind == "1":
            name = f"{city_short}{zihao}{ENTERPRISE_TRADE.get(trade_code, trade_word)}{rng.choice(ENTERPRISE_FORMS)}"
            legal_type = rng.choice(["有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）", "股份有限公司（非上市）"])
            capital = Decimal(rng.choice([3, 10, 30, 50, 100, 200, 500, 1000, 5000]))
        elif kind == "2":
            name = f"{place.county_name}{zihao}{rng.choice(shop_words)}"
            legal_type = "个体工商户"
            capital = Decimal(rng.choice([1, 2, 5, 10]))
        else:
            name = f"{place.county_name}{place.town_name.removesuffix('镇').removesuffix('街道')}{zihao}{rng.choice(COOP_FORMS)}"
            legal_type = "农民专业合作社"
            capital = Decimal(rng.choice([10, 50, 100]))
        if i % 7 == 0:  # real registries carry many near-duplicate names; keep them distinct like a registry would
            name = name.replace(zihao, zihao + rng.choice(TRADE_CHARS), 1)
        established = dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(11_200))
        status = "active" if rng.random() < 0.9 else rng.choice(["cancelled", "revoked", "suspended"])
        address = f"{place.city_name}{place.county_name}{place.town_name}{place.village_name}{rng.choice(ROADS)}{rng.randrange(1, 999)}号"
        row = {
            "credit_code": code, "name": name, "legal_type": legal_type,
            "legal_rep": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else ""),
            "capital": capital, "established_on": established, "status": status, "address": address,
            "division_code": place.division_code, "industry_code": trade_code, "business_scope": scope,
        }
        if point is not None:
            row["lng"], row["lat"] = point(place, rng)
        yield row


CSV_HEADER = ["企业名称", "统一社会信用代码", "注册日期", "企业类型", "法人代表", "注册资金", "经营范围", "所在省份", "地区", "注册地址", "区划代码", "登记状态", "行业代码"]
_STATUS_WORD = {"active": "存续", "cancelled": "注销", "revoked": "吊销", "suspended": "歇业"}


def as_csv_row(e: dict, province: str = "山东") -> list[str]:
    """The row as it would appear in a registration export (real headers)."""
    return [e["name"], e["credit_code"], e["established_on"].isoformat(), e["legal_type"], e["legal_rep"],
            f"{e['capital']}(万元人民币)", e["business_scope"], province, e["address"][:3], e["address"],
            e["division_code"], _STATUS_WORD[e["status"]], e["industry_code"]]
