"""The time limits of /docs/deadlines.md (from LAW.md), as seed data for ``DeadlineRule``.

Loaded by the data migration and by ``manage.py load_deadline_rules``. An administrator edits the
rows afterwards; a new version of a rule is a new row with the same code and a later
``effective_from`` (and the old row gets ``effective_to``).
"""
from __future__ import annotations

import datetime as dt

WD, D, M, Y = "workdays", "days", "months", "years"
PARTY = "party"  # choices.Obligor.PARTY: a period granted to a party never moves earlier on recomputation

# 期间届满顺延 (roll_forward): the last day of a natural-day, month or year period that is a day
# off moves to the next working day. Set on the periods within which someone must act; not on
# durations (publicity periods, bars, validity) nor on periods counted back from a date.
CIVIL_CODE_203 = "《中华人民共和国民法典》第二百零三条：期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日"
ROLL = {"roll_forward": True}

# 《市场监督管理投诉举报处理暂行办法》(总局令第20号，2022年修订) until 2026-04-14,
# 《市场监督管理投诉举报处理办法》(总局令第121号) from 2026-04-15: same numbers until confirmed.
ORDER_20 = "《市场监督管理投诉举报处理暂行办法》（国家市场监督管理总局令第20号，2022年修订）"
ORDER_121 = "《市场监督管理投诉举报处理办法》（国家市场监督管理总局令第121号）"
ORDER_20_FROM = dt.date(2020, 1, 1)
ORDER_20_TO = dt.date(2026, 4, 14)
ORDER_121_FROM = dt.date(2026, 4, 15)

PENALTY_LAW = "《中华人民共和国行政处罚法》（2021年修订）"
PENALTY_LAW_FROM = dt.date(2021, 7, 15)
PROCEDURE = "《市场监督管理行政处罚程序规定》"
PUBLICITY_45 = "《市场监督管理行政处罚信息公示规定》（国家市场监督管理总局令第45号）"
LICENSING_LAW = "《中华人民共和国行政许可法》"
REGISTRATION = "《中华人民共和国市场主体登记管理条例》"
DISCLOSURE = "《企业信息公示暂行条例》"
SERIOUS_44 = "《市场监督管理严重违法失信名单管理办法》（国家市场监督管理总局令第44号）"
FOOD_49 = "《食品生产经营监督检查管理办法》（国家市场监督管理总局令第49号）"

_COMPLAINTS = [
    # code, name, amount, unit, basis detail
    ("complaint.accept", "投诉受理或不予受理决定并告知", 7, WD, "收到投诉之日起七个工作日内作出受理或者不予受理的决定，并告知投诉人"),
    ("complaint.refuse_limitation", "投诉时效（知道或应当知道权益受侵害）", 3, Y, "自知道或者应当知道自身权益受到侵害之日起超过三年的投诉不予受理"),
    ("complaint.mediation", "调解期限（未达成协议则终止调解）", 45, WD, "自投诉受理之日起四十五个工作日内未能达成调解协议的，终止调解"),
    ("complaint.mediation_end_notice", "终止调解告知", 7, WD, "自作出终止调解决定之日起七个工作日内告知投诉人和被投诉人"),
    ("complaint.clue_verify", "调解中发现违法线索的核查", 15, WD, "自发现之日起十五个工作日内予以核查"),
    ("complaint.clue_verify_extension", "调解中发现违法线索的核查（延长）", 15, WD, "特殊情况下核查时限可以延长十五个工作日"),
    ("complaint.reporter_notice", "举报人告知", 5, WD, "自作出是否立案决定之日起五个工作日内告知实名举报人"),
]


def _rule(code, name, amount, unit, basis, *, frm=PENALTY_LAW_FROM, to=None, version=1, confirmed=True, note="", **extra):
    return {
        "code": code, "name": name, "amount": amount, "unit": unit, "legal_basis": basis,
        "effective_from": frm, "effective_to": to, "version": version, "confirmed": confirmed, "note": note, **extra,
    }


# Complaint rules that are a party's own period, and their roll-forward.
_COMPLAINT_EXTRA = {"complaint.refuse_limitation": {"obligor": PARTY, **ROLL}}

RULES: list[dict] = []
for _code, _name, _amount, _unit, _detail in _COMPLAINTS:
    _extra = _COMPLAINT_EXTRA.get(_code, {})
    RULES.append(_rule(_code, _name, _amount, _unit, f"{ORDER_20}：{_detail}", frm=ORDER_20_FROM, to=ORDER_20_TO, version=1, **_extra))
    RULES.append(
        _rule(
            _code, _name, _amount, _unit, f"{ORDER_121}（沿用第20号令时限，待核）：{_detail}", frm=ORDER_121_FROM, version=2,
            confirmed=False, note="第121号令自2026-04-15起施行；时限暂沿用第20号令，待管理员对照原文确认后勾选“已确认”。", **_extra,
        )
    )

RULES += [
    # --- administrative penalty ---
    _rule("penalty.clue_verify", "违法线索核查（决定是否立案）", 15, WD, f"{PROCEDURE}：自发现线索或者收到材料之日起十五个工作日内予以核查，决定是否立案", confirmed=False, note="LAW.md 标注待核"),
    _rule("penalty.clue_verify_extension", "违法线索核查（经批准延长）", 15, WD, f"{PROCEDURE}：特殊情况下，经机构负责人批准，可以延长十五个工作日", confirmed=False, note="LAW.md 标注待核"),
    _rule("penalty.decision", "作出行政处罚决定", 90, D, f"{PENALTY_LAW}第六十条：自行政处罚案件立案之日起九十日内作出行政处罚决定；{PROCEDURE}同", note=CIVIL_CODE_203, **ROLL),
    _rule("penalty.decision_extension", "作出行政处罚决定（经批准延长）", 30, D, f"{PROCEDURE}：案情复杂不能在规定期限内作出决定的，经机构负责人批准可以延长三十日；再延长须集体讨论决定", confirmed=False, note=f"LAW.md 标注待核。末日顺延：{CIVIL_CODE_203}", **ROLL),
    _rule("penalty.limitation", "行政处罚追责时效", 2, Y, f"{PENALTY_LAW}第三十六条：违法行为在二年内未被发现的，不再给予行政处罚"),
    _rule("penalty.limitation_serious", "行政处罚追责时效（涉及生命健康安全、金融安全且有危害后果）", 5, Y, f"{PENALTY_LAW}第三十六条：涉及公民生命健康安全、金融安全且有危害后果的，上述期限延长至五年"),
    _rule("penalty.evidence_handling", "先行登记保存证据的处理", 7, WD, f"{PENALTY_LAW}第五十六条：先行登记保存的，应当在七日内及时作出处理决定；第八十五条：“七日”指工作日", note="第八十五条：本法中二日、三日、五日、七日的规定是指工作日"),
    _rule("penalty.decision_delivery", "行政处罚决定书送达", 7, WD, f"{PENALTY_LAW}第六十一条：当事人不在场的，行政机关应当在七日内送达；第八十五条：“七日”指工作日", note="第八十五条：本法中二日、三日、五日、七日的规定是指工作日"),
    _rule("penalty.hearing_request", "当事人要求听证", 5, WD, f"{PENALTY_LAW}第六十四条：当事人要求听证的，应当在行政机关告知后五日内提出；第八十五条：“五日”指工作日", obligor=PARTY),
    _rule("penalty.hearing_notice", "听证通知（听证七日前）", -7, WD, f"{PENALTY_LAW}第六十四条：行政机关应当在举行听证的七日前，通知当事人及有关人员；第八十五条：“七日”指工作日", note="起算日为听证日期，结果为最迟通知日（向前倒数七个工作日）"),
    _rule("penalty.fine_payment", "缴纳罚款", 15, D, f"{PENALTY_LAW}第六十七条：当事人应当自收到行政处罚决定书之日起十五日内缴纳罚款", obligor=PARTY, note=CIVIL_CODE_203, **ROLL),
    _rule("penalty.publicity", "行政处罚信息公示", 20, WD, f"{PUBLICITY_45}：自作出行政处罚决定之日起二十个工作日内公示", frm=dt.date(2021, 9, 1)),
    _rule("penalty.publicity_withdrawal", "撤回已公示的行政处罚信息", 3, WD, f"{PUBLICITY_45}：行政处罚决定被变更、撤销或确认违法、无效的，三个工作日内撤回或更新；{PENALTY_LAW}第四十八条", frm=dt.date(2021, 9, 1)),
    _rule("penalty.publicity_period_minor", "行政处罚信息公示期（警告、通报批评或较小数额罚款）", 3, M, f"{PUBLICITY_45}：仅受到警告、通报批评或者较低数额罚款的，公示期为三个月", frm=dt.date(2021, 9, 1)),
    _rule("penalty.publicity_period", "行政处罚信息公示期（其他）", 3, Y, f"{PUBLICITY_45}：其他行政处罚信息公示期为三年", frm=dt.date(2021, 9, 1)),
    # --- credit ---
    _rule("credit.annual_report", "企业年度报告（每年1月1日至6月30日）", 0, D, f"{DISCLOSURE}第八条：企业应当于每年1月1日至6月30日报送上一年度年度报告", frm=dt.date(2014, 10, 1), kind="annual_window", window_start="01-01", window_end="06-30", obligor=PARTY),
    _rule("credit.disclosure", "企业即时信息公示", 20, WD, f"{DISCLOSURE}第十条：应当自信息形成之日起二十个工作日内通过国家企业信用信息公示系统向社会公示", frm=dt.date(2014, 10, 1), obligor=PARTY),
    _rule("credit.abnormal_to_serious", "列入经营异常名录满三年转入严重违法失信名单", 3, Y, f"{DISCLOSURE}第十七条：被列入经营异常名录届满三年仍未履行公示义务的，列入严重违法企业名单", frm=dt.date(2014, 10, 1)),
    _rule("credit.legal_rep_bar", "法定代表人任职限制", 3, Y, f"{DISCLOSURE}第十七条：其法定代表人、负责人三年内不得担任其他企业的法定代表人、负责人", frm=dt.date(2014, 10, 1)),
    _rule("credit.serious_removal_clean", "严重违法企业名单移出（五年未再违法）", 5, Y, f"{DISCLOSURE}第十七条：被列入严重违法企业名单的企业自被列入之日起五年内未再发生违法行为的，移出名单", frm=dt.date(2014, 10, 1)),
    _rule("credit.serious_list_publicity", "严重违法失信名单公示期", 3, Y, f"{SERIOUS_44}：列入严重违法失信名单的公示期为三年", frm=dt.date(2021, 9, 1), confirmed=False, note="2025 年修订草案，LAW.md 标注待核"),
    _rule("credit.serious_early_removal", "严重违法失信名单提前移出申请（满一年）", 1, Y, f"{SERIOUS_44}：列入满一年，可以申请提前移出", frm=dt.date(2021, 9, 1), confirmed=False, note="LAW.md 标注待核"),
    _rule("credit.repair_penalty_publicity", "行政处罚信息信用修复（最短公示期）", 6, M, "信用修复管理规定：行政处罚信息公示满六个月可申请修复", frm=dt.date(2021, 9, 1), confirmed=False, note="LAW.md 标注待核"),
    _rule("credit.repair_penalty_publicity_food", "行政处罚信息信用修复（食品、药品、特种设备领域）", 1, Y, "信用修复管理规定：食品、药品、特种设备领域行政处罚信息公示满一年可申请修复", frm=dt.date(2021, 9, 1), confirmed=False, note="LAW.md 标注待核"),
    # --- inspections ---
    _rule("inspection.result_publicity", "监督检查结果公开", 20, WD, f"{FOOD_49}：监督检查结果应当自检查完成之日起二十个工作日内公开", frm=dt.date(2022, 3, 15)),
    _rule("inspection.full_check_cycle", "食品生产经营者全项目检查周期", 2, Y, f"{FOOD_49}：每两年对本行政区域内所有食品生产经营者至少进行一次覆盖全部检查要点的监督检查", frm=dt.date(2022, 3, 15)),
    _rule("inspection.max_correction", "现场检查责令限期改正（最长期限）", 90, WD, "系统设置（地方规则，可按本地规定调整）：现场检查结论为责令限期改正的，执法人员确定的整改期限为 1 至 90 个工作日；原为代码常量 inspections.services.MAX_CORRECTION_DAYS", frm=dt.date(2020, 1, 1), obligor=PARTY, note="整改计时：clocks.start(rule=\"inspection.max_correction\", amount=整改工作日数)，amount 不得超过本规则的期限数"),
    _rule("grid.first_visit", "网格首次走访", 10, WD, "东莞市网格化监管规定（地方规则，可按城市调整）：十个工作日内首次走访", frm=dt.date(2020, 1, 1), note="地方规则，来自种子数据；其他城市按本地规定修改"),
    _rule("grid.recheck", "网格复查", 10, WD, "东莞市网格化监管规定（地方规则，可按城市调整）：十个工作日内复查", frm=dt.date(2020, 1, 1), note="地方规则，来自种子数据；其他城市按本地规定修改"),
    # --- registration ---
    _rule("registration.decision", "市场主体登记", 3, WD, f"{REGISTRATION}第十九条：当场登记或者自受理申请之日起三个工作日内予以登记", frm=dt.date(2022, 3, 1)),
    _rule("registration.decision_extension", "市场主体登记（情形复杂经批准延长）", 3, WD, f"{REGISTRATION}第十九条：情形复杂的，经登记机关负责人批准，可以再延长三个工作日", frm=dt.date(2022, 3, 1)),
    _rule("registration.change_filing", "变更登记申请", 30, D, f"{REGISTRATION}第二十四条：自作出变更决议、决定或者法定变更事项发生之日起三十日内申请办理变更登记", frm=dt.date(2022, 3, 1), obligor=PARTY, note=CIVIL_CODE_203, **ROLL),
    _rule("registration.suspension_max", "歇业最长期限", 3, Y, f"{REGISTRATION}第三十条：歇业的期限最长不得超过三年", frm=dt.date(2022, 3, 1)),
    _rule("registration.simple_deregistration_publicity", "简易注销公示期", 20, D, f"{REGISTRATION}第三十三条：通过国家企业信用信息公示系统公示，公示期为二十日", frm=dt.date(2022, 3, 1)),
    # --- licensing (行政许可法 art. 82: time limits of the licensing authority count working days) ---
    _rule("licence.decision", "作出行政许可决定", 20, WD, f"{LICENSING_LAW}第四十二条：自受理申请之日起二十日内作出决定；第八十二条：期限以工作日计算", frm=dt.date(2004, 7, 1), note="第八十二条：本法规定的行政机关实施行政许可的期限以工作日计算，不含法定节假日"),
    _rule("licence.decision_extension", "作出行政许可决定（经批准延长）", 10, WD, f"{LICENSING_LAW}第四十二条：经本行政机关负责人批准，可以延长十日；第八十二条", frm=dt.date(2004, 7, 1)),
    _rule("licence.missing_materials", "一次告知补正材料", 5, WD, f"{LICENSING_LAW}第三十二条：申请材料不齐全的，应当当场或者在五日内一次告知申请人需要补正的全部内容；第八十二条", frm=dt.date(2004, 7, 1)),
    _rule("licence.certificate_issue", "颁发、送达许可证件", 10, WD, f"{LICENSING_LAW}第四十四条：自作出决定之日起十日内向申请人颁发、送达行政许可证件；第八十二条", frm=dt.date(2004, 7, 1)),
    _rule("licence.renewal_request", "申请延续许可（有效期届满三十日前）", -30, D, f"{LICENSING_LAW}第五十条：应当在该行政许可有效期届满三十日前提出申请，法律、法规、规章另有规定的除外", frm=dt.date(2004, 7, 1), note="起算日为有效期届满日，结果为最迟申请日", obligor=PARTY),
    _rule("licence.food_validity", "食品经营许可证有效期", 5, Y, "《食品经营许可和备案管理办法》：食品经营许可证有效期为五年", frm=dt.date(2023, 12, 1), confirmed=False, note="LAW.md 标注待核"),
]
