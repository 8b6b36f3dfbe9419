"""Reply review (答复质量) on crafted replies to one message, each with exact expectations."""

from __future__ import annotations

from typing import Any

import pytest

from shizhi.ai.review import review_reply

TITLE = "幸福路路灯不亮"
MESSAGE = "幸福路12号门口的路灯已经坏了一周，晚上一片漆黑，老人出行很不安全，请尽快修理。"

COMPLETE = (
    "您好！关于您反映的幸福路12号门口路灯不亮的问题，我局接到后立即安排维修人员于3月5日到现场查看，经核实为灯泡损坏，"
    "现已更换灯泡，路灯已恢复正常照明。如有疑问请联系市城市管理局，联系电话0576-88001234。"
)
FORWARDED = "您好，您反映的问题已转交相关部门处理。"
REFUSED_BARE = "经研究，幸福路该路段的路灯暂不更换，无法满足您的要求。"
REFUSED_WITH_BASIS = (
    "经研究，根据《临江市城市照明管理办法》第十二条规定，幸福路12号门口的路灯属小区内部道路照明，不属于市政路灯管理范围，"
    "我局无法安排维修，建议联系小区物业。联系电话：0576-88001234。"
)
OFF_TOPIC = (
    "关于您咨询的住房公积金提取问题，需携带身份证和购房合同到公积金管理中心窗口办理，3个工作日内到账。"
)


def review(reply: str) -> Any:
    return review_reply(message_title=TITLE, message_content=MESSAGE, reply=reply)


def codes(rv: Any, dimension: str) -> list[str]:
    return [r.code for r in rv.reasons if r.dimension == dimension]


def test_a_complete_reply_with_a_phone_and_a_result_scores_high() -> None:
    rv = review(COMPLETE)
    assert rv.scores["completeness"] == 1.0 and rv.missing == []
    assert "0576-88001234" in rv.found["contact"] and "联系电话" in rv.found["contact"]
    assert "现已" in rv.found["result"] and "3月5日" in rv.found["time"] and "我局" in rv.found["handler"]
    assert rv.scores["relevance"] == 1.0
    assert rv.scores["interpretability"] == 0.85  # findings (经核实), no refusal, no basis needed
    assert rv.flags == [] and rv.ok and rv.overall == pytest.approx((1.0 + 1.0 + 0.85) / 3, abs=1e-4)
    assert not rv.refusal and rv.reasons == []


def test_a_forwarding_note_lacks_everything_but_says_why() -> None:
    rv = review(FORWARDED)
    assert rv.scores["completeness"] == 0.0
    assert rv.missing == ["handler", "action", "result", "time", "contact"]
    assert rv.reasons_for("completeness") == [
        "缺少：办理单位、办理措施、办理结果、办理时间、联系方式",
        "只说明已转交，未说明办理情况",
    ]
    assert rv.flags == ["relevance", "completeness"]


def test_a_refusal_without_a_basis_is_flagged_on_interpretability() -> None:
    rv = review(REFUSED_BARE)  # "经研究" (after study) explains nothing
    assert rv.refusal and rv.found["refusal"] == ["暂不", "无法"]
    assert rv.scores["interpretability"] == 0.1
    assert "interpretability" in rv.flags
    assert codes(rv, "interpretability") == ["refusal_without_basis"]
    assert "未说明理由和法律或政策依据" in rv.reasons_for("interpretability")[0]
    reasons_only = review("由于该路段正在改造，路灯暂不更换。")
    assert reasons_only.scores["interpretability"] == 0.4 and "interpretability" in reasons_only.flags
    assert "只说明了原因" in reasons_only.reasons_for("interpretability")[0]


def test_a_refusal_citing_a_regulation_and_its_article_is_interpretable() -> None:
    rv = review(REFUSED_WITH_BASIS)
    assert rv.refusal and rv.scores["interpretability"] == 1.0
    assert "《临江市城市照明管理办法》" in rv.found["basis"] and "第十二条" in rv.found["basis"]
    assert "interpretability" not in rv.flags
    generic = review("根据相关规定，该路段路灯不属于市政管理范围，无法维修。")
    assert generic.scores["interpretability"] == 0.8
    assert codes(generic, "interpretability") == ["basis_not_named"]


def test_an_off_topic_reply_scores_low_relevance() -> None:
    rv = review(OFF_TOPIC)
    assert rv.scores["relevance"] < 0.1 < review(COMPLETE).scores["relevance"]
    assert rv.found["key_terms_in_reply"] == []
    assert codes(rv, "relevance") == ["few_key_terms", "off_subject", "place_not_named"]
    assert "幸福路" in rv.reasons_for("relevance")[2]
    assert "relevance" in rv.flags
    # Its own parts are still found: relevance is judged apart from completeness.
    assert rv.found["handler"] == ["公积金管理中心"] and rv.found["time"] == ["3个工作日内"]


def test_words_quoted_from_the_message_and_the_signature_date_do_not_count() -> None:
    rv = review("您好！您反映的“路灯不予维修、无法出行”的情况已收悉。2019年5月5日")
    assert not rv.refusal and rv.found["time"] == []
    assert rv.scores["completeness"] == 0.0


def test_an_empty_reply_is_flagged_everywhere() -> None:
    rv = review("  _x000D_\n ")
    assert rv.scores == {"relevance": 0.0, "completeness": 0.0, "interpretability": 0.0}
    assert rv.flags == ["relevance", "completeness", "interpretability"] and rv.overall == 0.0
    assert {r.code for r in rv.reasons} == {"empty"}


def test_thresholds_come_from_the_settings(settings: Any) -> None:
    assert review(REFUSED_BARE).flags == ["completeness", "interpretability"]
    settings.SHIZHI = {**settings.SHIZHI, "AI_REVIEW": {"thresholds": {"interpretability": 0.05}}}
    rv = review(REFUSED_BARE)
    assert rv.flags == ["completeness"]
    assert rv.as_dict()["scores"] == rv.scores and rv.as_dict()["ok"] is False
