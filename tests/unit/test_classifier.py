"""The rule engine on complaints it was not tuned on, each severity trigger, the history and hint rules, config errors,
and the evaluation on the labeled sample. Pure and fast: the rules file is read once, nothing else touches disk.

These pin the rules' own behaviour, so they classify with `model=None` (the learned model: test_learning.py).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from services.dispatch.classification import (
    DEFAULT_RULES_PATH,
    Classification,
    ComplaintFacts,
    Rules,
    RulesError,
    classify,
    load_rules,
    parse_rules,
)
from services.dispatch.classification.matching import find_hits
from services.dispatch.evaluate import main as evaluate_main
from services.dispatch.normalise import normalise
from shared.contracts import Category, Department, Severity

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "complaints_sample.jsonl"


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


@pytest.fixture(scope="module")
def raw_rules() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))


def run(
    rules: Rules, text: str, *, hint: str | None = None, history: dict[str, int] | None = None, channel: str = "web"
) -> Classification:
    facts = ComplaintFacts(text=text, channel=channel, category_hint=hint, history=history or {})
    return classify(facts, rules, model=None)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    lang: str
    category: str
    severity: str
    acceptable: tuple[str, ...]
    text: str


# Written by hand for this test, not taken from the labeled sample: zh, zh-Hant, en and mixed, every category and
# severity. `acceptable` lists other categories a reasonable agent could choose.
# fmt: off
HELD_OUT = [
    Case("H01", "zh", "heating_temperature", "normal", (),
        "我家暖气一直温吞吞的，屋里才十五度，晚上睡觉得开电热毯，麻烦师傅来看看。"),
    Case("H02", "zh-Hant", "heating_temperature", "normal", ("outage",),
        "暖氣片摸起來冷冰冰的，客廳只有十六度，請派人來檢查一下。"),
    Case("H03", "en", "heating_temperature", "normal", (),
        "The radiators in our flat are barely warm and the bedroom is only 15°C. Please send someone to check"
        " the heating."),
    Case("H04", "mixed", "heating_temperature", "emergency", ("outage",),
        "家里有个三个月大的宝宝，暖气 completely cold，room temperature 只有 12 度，please come tonight!"),
    Case("H05", "zh", "equipment_fault", "normal", (),
        "卫生间的水表前阀门一直往外渗水，拧也拧不紧，麻烦派人来换个阀门。"),
    Case("H06", "en", "equipment_fault", "normal", (),
        "Our electricity meter screen has gone blank and the meter is making a buzzing noise. Power is fine. "
        "Please replace the meter."),
    Case("H07", "zh-Hant", "equipment_fault", "serious", (),
        "我們這棟樓的加壓水泵壞了，六樓以上好幾戶水壓都很小，請盡快維修。"),
    Case("H08", "zh", "outage", "normal", (), "从早上八点开始停电到现在，也没看到停电通知，什么时候能来电？"),
    Case("H09", "en", "outage", "serious", (),
        "The whole building has had no water since last night and nobody told us anything."),
    Case("H10", "zh-Hant", "outage", "emergency", (),
        "整個社區和附近好幾個小區都停電了，路口紅綠燈也不亮，已經兩個小時了。"),
    Case("H11", "mixed", "outage", "normal", ("equipment_fault",),
        "家里突然停电了，breaker 没跳，麻烦派人 check 一下线路。"),
    Case("H12", "zh", "safety_hazard", "emergency", (),
        "厨房里一股臭鸡蛋味，怀疑是天然气泄漏，已经关了总阀开窗了，快派人来！"),
    Case("H13", "en", "safety_hazard", "emergency", (),
        "There are sparks coming from the cable on the pole outside our gate and a wire is hanging down to "
        "the ground. Kids walk past here every day."),
    Case("H14", "zh-Hant", "safety_hazard", "emergency", ("equipment_fault",),
        "樓上水管爆裂，水從天花板一直往下漏，客廳已經淹了，電器都泡在水裡。"),
    Case("H15", "zh", "billing", "normal", (), "这个月水费比上个月多了一倍多，家里就两个人，怀疑抄表抄错了，请核实。"),
    Case("H16", "en", "billing", "normal", (),
        "I was overcharged on my gas bill this month — I paid twice by mistake. Please refund the duplicate "
        "payment."),
    Case("H17", "zh-Hant", "billing", "serious", ("service_attitude",),
        "電費帳單莫名其妙多收了兩百元，打了幾次電話都說在查，再不退費我就向消費者協會投訴。"),
    Case("H18", "zh", "service_attitude", "normal", (),
        "上门的维修师傅态度很差，一进门就抱怨我们家难找，修完还把垃圾留在地上。"),
    Case("H19", "en", "service_attitude", "normal", ("equipment_fault",),
        "The engineer promised to come on Tuesday morning but never showed up and nobody answered the phone."),
    Case("H20", "zh-Hant", "service_attitude", "normal", (), "客服人員接電話時很不耐煩，我話還沒說完就把電話掛了。"),
    Case("H21", "zh", "consultation", "normal", (), "请问过户需要带什么材料？可以在网上办理吗？"),
    Case("H22", "en", "consultation", "normal", (),
        "How do I apply to suspend heating for my apartment next winter? I will be abroad."),
    Case("H23", "zh-Hant", "consultation", "normal", (), "想請問今年什麼時候開始供暖？"),
    Case("H24", "mixed", "consultation", "normal", ("billing",), "请问 app 上怎么查询历史电费账单？找不到 entrance。"),
    Case("H25", "zh", "other", "normal", (), "小区门口的施工围挡倒了一半，一直没人收拾，影响出行。"),
    Case("H26", "en", "other", "normal", ("consultation",),
        "Someone claiming to be from the gas company came to sell us an overpriced alarm. Is this a scam?"),
    Case("H27", "zh", "other", "serious", (), "你们的施工队每天早上六点就开始挖路，噪音太大，再不管我就找电视台曝光。"),
    Case("H28", "zh", "heating_temperature", "serious", (), "我们整栋楼的暖气都不热，好多户室温都在16度左右。"),
    Case("H29", "zh", "equipment_fault", "normal", (), "家里没有停电，也没有漏水，就是电表显示屏不亮了。"),
    Case("H30", "zh-Hant", "safety_hazard", "emergency", (), "家裡熱水器用的時候有人頭暈，擔心是一氧化碳中毒。"),
    Case("F03", "en", "outage", "emergency", ("heating_temperature",),
        "Since Monday our apartment has had no hot water and the heating is off completely. We have a "
        "90-year-old grandmother living with us."),
    Case("F13", "zh", "safety_hazard", "emergency", ("equipment_fault",),
        "马路边的消火栓被撞坏了，水一直往外喷，路上全是水，已经结冰了。"),
    Case("F16", "en", "outage", "emergency", (),
        "Power has been out on our whole street for five hours, including the traffic lights at the junction."),
    Case("F26", "zh-Hant", "billing", "normal", (), "這個月的瓦斯費帳單收到兩張，金額一樣，是不是重複收費了？"),
    Case("G05", "zh", "safety_hazard", "emergency", (),
        "变压器一直嗡嗡响，晚上还能看到冒火光，就在我们楼旁边，太吓人了。"),
    Case("G12", "zh-Hant", "outage", "serious", (), "停水也不事先公告，全棟住戶都沒水用，請問何時恢復？"),
    Case("G14", "en", "service_attitude", "normal", (),
        "I've been trying to call your hotline for two days and nobody ever picks up. This is ridiculous."),
    Case("K09", "zh", "outage", "serious", ("heating_temperature",),
        "我们这栋楼从中午开始就没有暖气了，整栋楼的暖气片都是凉的。"),
    Case("K13", "zh", "safety_hazard", "emergency", (), "楼下那户门口的燃气管道被装修工人打穿了，嗤嗤地往外冒气。"),
    Case("K21", "zh", "service_attitude", "normal", (), "上门的抄表员穿着拖鞋，满身酒气，说话还带脏字。"),
    Case("K29", "en", "other", "normal", (),
        "I'd like to thank the crew who fixed our burst pipe so quickly last night."),
    Case("L13", "zh", "safety_hazard", "emergency", (), "楼道里燃气管道有一处生锈，用肥皂水一抹就冒泡，肯定是漏气了。"),
    Case("L22", "en", "service_attitude", "normal", (),
        "I was on hold for 45 minutes and then the call was disconnected. No one called back."),
    Case("L27", "zh", "other", "normal", ("consultation", "billing"),
        "最近有人打电话说我家欠电费要停电，让我转账到一个私人账户，是真的吗？"),
    Case("M10", "zh", "outage", "normal", (), "家里水龙头拧开一滴水都没有，邻居家也一样。"),
    Case("M17", "zh", "service_attitude", "normal", (),
        "客服让我等电话回复，等了三天一个电话都没有，你们就是这么服务的？"),
]
# fmt: on


@pytest.mark.parametrize("case", HELD_OUT, ids=lambda c: f"{c.id}-{c.lang}-{c.category}-{c.severity}")
def test_held_out_complaints(rules: Rules, case: Case) -> None:
    result = run(rules, case.text)
    assert result.category in {case.category, *case.acceptable}, result.reasons
    assert result.severity == case.severity, result.reasons
    assert result.department == rules.department_of(result.category)
    assert result.valid, result.invalid_reason


def test_held_out_set_covers_every_category_severity_and_language() -> None:
    assert {c.category for c in HELD_OUT} == set(Category)
    assert {c.severity for c in HELD_OUT} == set(Severity)
    assert {c.lang for c in HELD_OUT} == {"zh", "zh-Hant", "en", "mixed"}


# --- the decision and its explanation ---------------------------------------------------------------------------


def test_reasons_name_the_matched_terms_and_the_temperature(rules: Rules) -> None:
    result = run(rules, "用户反映暖气不热，室温只有16度，家里没有漏水。")
    assert result.category is Category.HEATING_TEMPERATURE
    assert result.department is Department.REPAIR
    category_reason = result.reasons[0]
    assert category_reason.startswith("category heating_temperature: matched ")
    assert "暖气不热" in category_reason
    assert "16度 (low indoor temperature" in category_reason
    assert any(r.startswith("ignored as negated or hypothetical: ") and "漏水" in r for r in result.reasons)
    assert set(result.scores) == {c.value for c in Category}
    assert result.scores["heating_temperature"] > 0 and result.scores["equipment_fault"] == 0


def test_classification_is_frozen(rules: Rules) -> None:
    result = run(rules, "停电了")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.category = Category.OTHER  # type: ignore[misc]


@pytest.mark.parametrize(
    ("category", "department"),
    [
        (Category.HEATING_TEMPERATURE, Department.REPAIR),
        (Category.EQUIPMENT_FAULT, Department.REPAIR),
        (Category.OUTAGE, Department.REPAIR),
        (Category.SAFETY_HAZARD, Department.REPAIR),
        (Category.BILLING, Department.BILLING),
        (Category.SERVICE_ATTITUDE, Department.CUSTOMER_SERVICE),
        (Category.CONSULTATION, Department.CUSTOMER_SERVICE),
        (Category.OTHER, Department.CUSTOMER_SERVICE),
    ],
)
def test_department_follows_category_as_in_the_design(rules: Rules, category: Category, department: Department) -> None:
    assert rules.department_of(category) is department


def test_text_with_no_evidence_falls_back_to_other(rules: Rules) -> None:
    result = run(rules, "我想反映一个情况，请尽快联系我。")
    assert result.category is Category.OTHER
    assert "no category reached the minimum score" in result.reasons[0]


# --- negation -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["家里没有漏水", "不是漏水", "家里没漏水", "并没有发现漏水", "无漏水", "如果家里暖气片漏水怎么办",
     "it is not leaking", "there is no leak", "if it leaks, who do I call"],
)  # fmt: skip
def test_negated_or_hypothetical_terms_do_not_count(rules: Rules, text: str) -> None:
    term = "leak" if text.isascii() else "漏水"
    hits = find_hits(normalise(text), term, rules.matching)
    assert hits and all(hit.negated for hit in hits)


@pytest.mark.parametrize(
    ("text", "term"),
    [("水管不停地漏水", "漏水"), ("是不是漏水了", "漏水"), ("接口处不断漏水", "漏水"),
     ("没通知就停电了", "停电"), ("it keeps leaking", "leak")],
)  # fmt: skip
def test_a_negator_inside_another_word_or_too_far_away_negates_nothing(rules: Rules, text: str, term: str) -> None:
    assert any(not hit.negated for hit in find_hits(normalise(text), term, rules.matching))


def test_a_negation_does_not_reach_across_a_clause(rules: Rules) -> None:
    assert not find_hits(normalise("暖气不热 漏水了"), "漏水", rules.matching)[0].negated


def test_negated_evidence_changes_the_category(rules: Rules) -> None:
    assert run(rules, "家里没有停电，也没有漏水，就是电表显示屏不亮了。").category is Category.EQUIPMENT_FAULT
    assert run(rules, "燃气表的屏幕不显示了，没有闻到燃气味。").severity is Severity.NORMAL


# --- severity triggers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("楼道里一股很浓的煤气味", "gas smell, gas leak or poisoning"),
        ("Strong smell of gas in the kitchen", "gas smell, gas leak or poisoning"),
        ("插座冒火花还有焦味", "fire, smoke, sparks or explosion"),
        ("电线掉下来了耷拉在地上", "exposed, fallen or live wire"),
        ("There is a live wire hanging over the path", "exposed, fallen or live wire"),
        ("水管爆了，客厅都淹了", "burst pipe or flooding"),
        ("老人头晕恶心晕倒了，已经叫了救护车", "danger to life"),
        ("幸福路一带大面积停电，好几个小区都黑了", "large-area outage"),
        ("暖气一点都不热，家里有刚满月的宝宝", "vulnerable person without heat"),
        ("暖气不热，屋里只有12度，我母亲今年85岁", "vulnerable person without heat"),
        ("停电了，家里老人要用制氧机", "life-support equipment without power"),
    ],
)
def test_each_emergency_trigger(rules: Rules, text: str, reason: str) -> None:
    result = run(rules, text)
    assert result.severity is Severity.EMERGENCY, result.reasons
    assert any(r.startswith(f"severity emergency: {reason} (") for r in result.reasons), result.reasons


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("暖气不热，再不解决我就打12345", "threat to escalate (12345)"),
        ("停水两天了，我要找媒体曝光", "threat to escalate (媒体"),
        ("If this is not fixed I will go to the regulator about my bill.", "threat to escalate (regulator)"),
        ("这是我第三次来电反映暖气不热了", "repeat complaint stated in the text (第三次)"),
        ("整栋楼都停水了", "several households or a whole building (整栋)"),
        ("Our whole building has had no gas since this morning.", "several households or a whole building"),
    ],
)
def test_each_serious_trigger(rules: Rules, text: str, reason: str) -> None:
    result = run(rules, text)
    assert result.severity is Severity.SERIOUS, result.reasons
    assert any(r.startswith(f"severity serious: {reason}") for r in result.reasons), result.reasons


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("暖气报停了为什么还扣了全额热费？", Category.BILLING),  # 报停 is an account suspension, not an outage
        ("请问今年什么时候停止供暖？", Category.CONSULTATION),  # a question about the season names an outage word
        ("我们小区下周要停水吗？", Category.CONSULTATION),
        ("The radiator valve has snapped off; no water is leaking.", Category.EQUIPMENT_FAULT),
        ("抢修电工上门修电表，态度很差，还骂人。", Category.SERVICE_ATTITUDE),  # conduct outweighs the repair
        ("这个月我们楼已经停了三次电了。", Category.OUTAGE),
        ("家里电压一直不稳，灯时亮时暗。", Category.EQUIPMENT_FAULT),
        ("Is there a way to be notified before planned water outages?", Category.CONSULTATION),
    ],
)
def test_phrasings_that_once_went_astray(rules: Rules, text: str, category: Category) -> None:
    assert run(rules, text).category is category


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("Power is out in our flat. Flat 4C, Maple Court.", Severity.NORMAL),  # an address, not a lawsuit
        ("空开一天跳好几次，请派人看看。", Severity.NORMAL),  # a symptom repeating is no repeat complaint
        ("已经多次向你们反映暖气不热了。", Severity.SERIOUS),
        ("暖气不热，屋里15度，家里宝宝才三个月。", Severity.EMERGENCY),  # an infant is at risk sooner
        ("暖气不太热，屋里17度，家里有宝宝。", Severity.NORMAL),
        ("我们单元有十来户室温都不到17度。", Severity.SERIOUS),
        ("用户要向物价局举报乱收费。", Severity.SERIOUS),
    ],
)
def test_severity_of_phrasings_that_once_went_astray(rules: Rules, text: str, severity: Severity) -> None:
    assert run(rules, text).severity is severity


def test_vulnerable_person_alone_or_mild_cold_is_not_an_emergency(rules: Rules) -> None:
    assert run(rules, "我今年七十多了，暖气摸着是温的，屋里17度").severity is Severity.NORMAL
    assert run(rules, "用户来电咨询今年供暖什么时候开始，家里有老人").severity is Severity.NORMAL


def test_a_phone_number_is_no_threat_to_call_12345(rules: Rules) -> None:
    assert run(rules, "暖气不热，我的电话是13912345678").severity is Severity.NORMAL


def test_the_gravest_finding_decides(rules: Rules) -> None:
    result = run(rules, "整栋楼都闻到煤气味了，再不来我就打12345")
    assert result.severity is Severity.EMERGENCY
    severity_reasons = [r for r in result.reasons if r.startswith("severity ")]
    assert severity_reasons[0].startswith("severity emergency: ")
    assert any(r.startswith("severity serious: ") for r in severity_reasons)


# --- repeat complaints from the account's history ------------------------------------------------------------------


def test_repeat_rule_follows_history_of_the_chosen_category(rules: Rules) -> None:
    text = "暖气不热，屋里16度。"
    assert rules.repeat.nth_complaint == 3
    assert run(rules, text, history={"heating_temperature": 1}).severity is Severity.NORMAL
    third = run(rules, text, history={"heating_temperature": 2})
    assert third.severity is Severity.SERIOUS
    assert any("repeat complaint (3rd heating_temperature complaint in the 30-day window)" in r for r in third.reasons)
    # earlier complaints of another category are not repeats of this one
    assert run(rules, text, history={"billing": 5}).severity is Severity.NORMAL


def test_repeat_threshold_is_configuration(rules: Rules) -> None:
    text = "暖气不热，屋里16度。"
    stricter = rules.model_copy(update={"repeat": rules.repeat.model_copy(update={"nth_complaint": 2})})
    assert run(rules, text, history={"heating_temperature": 1}).severity is Severity.NORMAL
    second = run(stricter, text, history={"heating_temperature": 1})
    assert second.severity is Severity.SERIOUS
    assert any("2nd heating_temperature complaint" in r for r in second.reasons)


def test_repeat_never_lowers_an_emergency(rules: Rules) -> None:
    assert run(rules, "厨房有煤气味", history={"safety_hazard": 4}).severity is Severity.EMERGENCY


# --- the channel's category hint ----------------------------------------------------------------------------------


def test_hint_decides_when_the_text_is_neutral(rules: Rules) -> None:
    result = run(rules, "我想反映一个情况，请尽快联系我。", hint="billing", channel="partner_95598")
    assert result.category is Category.BILLING
    assert result.department is Department.BILLING
    assert "channel hint +3" in result.reasons[0], "a partner hotline's ticket type counts more (rules.toml)"
    assert "channel hint +2.5" in run(rules, "我想反映一个情况。", hint="billing", channel="app").reasons[0]


def test_strong_text_overrides_a_wrong_hint(rules: Rules) -> None:
    result = run(rules, "厨房里一股很浓的煤气味，已经开窗了。", hint="billing", channel="partner_12345")
    assert result.category is Category.SAFETY_HAZARD
    assert any(r.startswith("runner-up billing") and "channel hint" in r for r in result.reasons)


def test_hint_tips_a_close_call(rules: Rules) -> None:
    text = "电表不走字了，这个月电费会不会算错？"
    assert run(rules, text, hint="billing").category is Category.BILLING
    assert run(rules, text, hint="equipment_fault").category is Category.EQUIPMENT_FAULT


def test_an_unknown_hint_is_ignored_and_said(rules: Rules) -> None:
    result = run(rules, "停电了", hint="electricity")
    assert result.category is Category.OUTAGE
    assert "unknown category hint 'electricity' ignored" in result.reasons


# --- validity -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty text"),
        ("   ", "empty text"),
        ("。。。", "too little text"),
        ("啊啊啊啊啊啊", "gibberish"),
        ("asdfghjkl qwer", "gibberish"),
        ("我家不在你们的供热范围内，暖气不热", "outside service area"),
        ("测试工单，请忽略", "test call (测试工单)"),
        ("測試工單 請忽略", "test call (测试工单)"),
        ("测试", "test call (测试)"),
        ("This is a test call, please ignore.", "test call (test call, this is a test)"),
        ("Testing 123", "test call"),
        ("测试工单：3号楼暖气不热", "test call (测试工单)"),
        ("家里宽带断了，我知道不归你们管，但是电信电话打不通", "not ours: broadband/telecom (宽带)"),
        ("家裡寬頻斷了，中華電信客服打不通", "not ours: broadband/telecom (宽带, 电信客服)"),
        ("My broadband has been down since yesterday.", "not ours: broadband/telecom (broadband)"),
        ("小区有线电视信号差，经常黑屏", "not ours: cable TV (有线电视, 电视信号)"),
        ("有線電視沒訊號", "not ours: cable TV (有线电视)"),
        ("小区物业费涨价了，合理吗", "not ours: property management (物业费)"),
        ("Property management fees went up 20%. Is that allowed?", "not ours: property management"),
    ],
)
def test_invalid_complaints_say_why(rules: Rules, text: str, reason: str) -> None:
    result = run(rules, text)
    assert not result.valid
    assert result.invalid_reason is not None and result.invalid_reason.startswith(reason)
    assert f"invalid: {result.invalid_reason}" in result.reasons


@pytest.mark.parametrize("text", ["停电", "power cut", "hello, my radiator is cold"])
def test_short_real_complaints_are_valid(rules: Rules, text: str) -> None:
    assert run(rules, text).valid


@pytest.mark.parametrize(
    "text",
    [
        "停电了，宽带也断了",  # a power cut took the broadband down: ours
        "物业费和取暖费一起收的，账单多收了200元",
        "这不是测试，暖气真的不热",  # negated
        "不是宽带的问题，是家里没电了",
        "How do I request an official indoor temperature test?",
        "Caller requests a meter test: the reading advances with all taps closed.",
        "电梯间那个配电箱在冒烟，一股塑料烧焦的味道",  # danger is ours wherever it is
        "The router room in the basement smells of gas.",
        "物业不给开门，维修师傅进不去，暖气还是不热",
    ],
)
def test_what_is_ours_or_not_a_test_stays_valid(rules: Rules, text: str) -> None:
    result = run(rules, text)
    assert result.valid, result.invalid_reason


def test_not_ours_without_own_business_terms_is_refused(raw_rules: dict[str, Any]) -> None:
    validity = {k: v for k, v in raw_rules["validity"].items() if k != "own_business_terms"}
    with pytest.raises(RulesError, match="not_ours needs own_business_terms"):
        parse_rules({**raw_rules, "validity": validity})


# --- the rules file -----------------------------------------------------------------------------------------------


def test_unknown_category_in_the_rules_is_a_clear_error(raw_rules: dict[str, Any]) -> None:
    broken = {**raw_rules, "categories": {**raw_rules["categories"], "heating": raw_rules["categories"]["other"]}}
    with pytest.raises(RulesError, match=r"categories\.heating.*heating_temperature"):
        parse_rules(broken)


def test_unknown_channel_in_the_hint_weights_is_a_clear_error(raw_rules: dict[str, Any]) -> None:
    broken = {**raw_rules, "hint": {"weight": 2, "channel_weights": {"fax": 1}}}
    with pytest.raises(RulesError, match=r"hint\.channel_weights\.fax"):
        parse_rules(broken)


def test_unknown_category_in_a_trigger_is_a_clear_error(raw_rules: dict[str, Any]) -> None:
    trigger = {**raw_rules["severity_triggers"][0], "categories": ["gas_leak"]}
    broken = {**raw_rules, "severity_triggers": [trigger]}
    with pytest.raises(RulesError, match=r"severity_triggers\.0\.categories\.0"):
        parse_rules(broken)


def test_missing_category_misspelt_key_and_bad_regex_are_errors(raw_rules: dict[str, Any]) -> None:
    categories = {k: v for k, v in raw_rules["categories"].items() if k != "billing"}
    with pytest.raises(RulesError, match="missing categories: billing"):
        parse_rules({**raw_rules, "categories": categories})
    with pytest.raises(RulesError, match="nth_complaints"):
        parse_rules({**raw_rules, "repeat": {"nth_complaints": 3, "window_days": 30}})
    trigger = {**raw_rules["severity_triggers"][0], "terms": ["re:(unclosed"]}
    with pytest.raises(RulesError, match="not a valid regular expression"):
        parse_rules({**raw_rules, "severity_triggers": [trigger]})


def test_shipped_rules_load_and_name_every_category(rules: Rules) -> None:
    assert set(rules.categories) == set(Category)
    assert set(rules.decision.tie_order) == set(Category)


def test_load_rules_reads_another_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace("nth_complaint = 3", "nth_complaint = 4"))
    assert load_rules(path).repeat.nth_complaint == 4
    path.write_text("version = ")
    with pytest.raises(RulesError, match="not valid TOML"):
        load_rules(path)


# --- evaluation on the labeled sample -----------------------------------------------------------------------------


def test_evaluate_on_the_sample_meets_the_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate_main([str(SAMPLE), "--rules-only"]) == 0
    output = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(output[-1])
    assert set(summary) == {
        "category_accuracy",
        "department_accuracy",
        "severity_accuracy",
        "n",
        "auto_share",
        "auto_category_accuracy",
        "auto_department_accuracy",
        "triage_share",
    }
    assert summary["triage_share"] == 0 and summary["auto_share"] == 1
    assert summary["n"] == 80
    assert summary["category_accuracy"] >= 0.90
    assert summary["department_accuracy"] >= 0.95
    assert summary["severity_accuracy"] >= 0.80
    assert any(line.startswith("confusion (rows = true category") for line in output)
