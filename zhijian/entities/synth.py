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
# (industry code, word in the name, business scope) — a few dozen common trades.
TRADES = [
    ("5211", "百货", "日用百货、针纺织品、服装鞋帽零售"),
    ("5212", "超市", "预包装食品、散装食品、日用百货销售"),
    ("5223", "果蔬", "新鲜水果、蔬菜零售"),
    ("5225", "烟酒", "预包装食品、酒类、卷烟零售"),
    ("5261", "汽车销售", "汽车、汽车配件销售"),
    ("5271", "家电", "家用电器销售及维修"),
    ("5281", "五金", "五金交电、建材销售"),
    ("5291", "便利店", "预包装食品、日用品零售"),
    ("5131", "服装", "服装、鞋帽批发"),
    ("5191", "商贸", "国内贸易；货物及技术进出口"),
    ("6210", "餐饮", "餐饮服务；热食类食品制售"),
    ("6291", "小吃", "小吃服务；冷热饮品制售"),
    ("6239", "奶茶", "饮品店经营；冷热饮品制售"),
    ("6110", "酒店", "住宿服务；餐饮服务"),
    ("8040", "理发", "理发及美容服务"),
    ("8111", "汽车维修", "机动车维修；汽车配件销售"),
    ("6513", "软件", "软件开发；信息技术咨询服务"),
    ("6531", "信息技术", "信息系统集成服务；技术开发"),
    ("7291", "企业管理", "企业管理咨询；商务信息咨询"),
    ("5431", "物流", "普通货运；仓储服务（不含危险化学品）"),
    ("4710", "建筑", "房屋建筑工程施工"),
    ("1499", "食品", "食品生产；预包装食品销售"),
    ("1512", "酒业", "白酒生产、销售"),
    ("2682", "化妆品", "化妆品生产、销售"),
    ("2720", "药业", "药品生产；医疗器械销售"),
    ("5251", "药房", "药品零售；医疗器械经营"),
    ("3581", "医疗器械", "第二类医疗器械生产、销售"),
    ("3311", "机械", "通用机械设备制造、销售"),
    ("3435", "电梯", "电梯安装、维修、保养"),
    ("8425", "诊所", "门诊服务"),
    ("7259", "广告", "广告设计、制作、代理、发布"),
    ("0141", "蔬菜种植", "蔬菜种植、销售"),
]
ENTERPRISE_FORMS = ["有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司", "商贸有限公司"]
INDIVIDUAL_FORMS = ["店", "商行", "经营部", "门市部", "工作室", "馆"]
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
        trade_code, trade_word, scope = TRADES[rng.randrange(len(TRADES))]
        if kind == "3":
            trade_code, trade_word, scope = TRADES[-1]
        zihao = rng.choice(TRADE_CHARS) + rng.choice(TRADE_CHARS)
        city_short = place.city_name.removesuffix("市")
        if kind == "1":
            name = f"{city_short}{zihao}{trade_word}{rng.choice(ENTERPRISE_FORMS)}"
            legal_type = rng.choice(["有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）", "股份有限公司（非上市）"])
            capital = Decimal(rng.choice([3, 10, 30, 50, 100, 200, 500, 1000, 5000]))
        elif kind == "2":
            name = f"{place.county_name}{zihao}{trade_word}{rng.choice(INDIVIDUAL_FORMS)}"
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
