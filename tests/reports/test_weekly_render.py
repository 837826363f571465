"""The review rendered: one self-contained document without script, escaped data, arrows
coloured by good or bad news, every section's empty state, both languages, a text part."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tenure.promotions.service.offers import OfferUse
from tenure.reports.weekly.anomalies import Band
from tenure.reports.weekly.data import (
    CampaignLine,
    CohortLine,
    FlowLine,
    KpiLine,
    StageLine,
    WeeklyReview,
)
from tenure.reports.weekly.render import heat, render_body, render_html, render_text, subject
from tenure.reports.weekly.weeks import Week
from tenure.segments.service import SegmentMove

XSS = "<script>alert(1)</script>"
WEEK = Week(date(2024, 8, 19))
NOW = datetime(2024, 8, 26, 9, tzinfo=UTC)


def full() -> WeeklyReview:
    trend = (90.0, 100.0, 95.0, 105.0, 100.0, 98.0, 102.0, 160.0)
    return WeeklyReview(
        week=WEEK,
        zone="Asia/Shanghai",
        currency="CNY",
        generated_at=NOW,
        partial=False,
        data_until=date(2024, 8, 27),
        kpis=[
            KpiLine("revenue", 1600.0, 1000.0, 800.0, "CNY", trend, 1, Band(100.0, 85.0, 115.0, 7)),
            KpiLine("refund_rate", 0.05, 0.02, None, None, (0.02, 0.05)),
            KpiLine("orders", 20, 25, None, None, (25, 20)),
        ],
        cohorts=[CohortLine(date(2024, 8, 12), 7, (0.143, None, None, None))],
        stages=[StageLine("new", 34, 0.2, 29), StageLine("at_risk", 41, 0.24, 42)],
        flows=[FlowLine(None, "new", 5), FlowLine("active", "at_risk", 3)],
        campaigns=[CampaignLine(XSS, XSS, "active", 50, 50, 3.5, 420.0, 100.0, 3.2, "CNY")],
        offers=[OfferUse("o1", XSS, "coupon", "CNY", 2, 2000)],
        movers=[SegmentMove("vip", XSS, 10, 40), SegmentMove("new-one", "New one", None, 7)],
    )


def empty() -> WeeklyReview:
    return WeeklyReview(WEEK, "UTC", "USD", NOW, partial=True, data_until=None)


def test_the_document_is_self_contained_and_runs_no_script() -> None:
    page = render_html(full(), "en")
    assert page.startswith("<!DOCTYPE html>") and 'lang="en"' in page
    assert "<script" not in page and "javascript:" not in page and " onload" not in page
    assert "<link" not in page and "src=" not in page  # nothing fetched from outside
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # campaign, offer, segment names


def test_the_figures_arrows_and_anomalies() -> None:
    page = render_html(full(), "en")
    assert "Weekly review" in page and "Aug 19\u2009–\u200925, 2024" in page
    assert "CN¥1,600.00" in page and "+60.0%" in page and "+100.0%" in page  # vs week, vs year
    assert "net revenue is unusually high" in page and "CN¥85.00" in page
    assert "&#9650; +3.0 pp" in page  # a refund rate going up: a rise in points …
    refund_row = page[page.index('data-metric="refund_rate"') :]
    refund_row = refund_row[: refund_row.index("</tr>")]
    assert "#b42318" in refund_row  # … in red, because lower is better
    assert "&#9660; -20.0%" in page  # orders down
    assert "Week 1" in page and "14.3%" in page and "(first stage)" in page
    assert "+7" in page and "new" in page  # a segment new this week
    assert "CN¥20.00" in page  # the offer's discount, from minor units


def test_every_empty_section_says_so_in_both_languages() -> None:
    english = render_html(empty(), "en")
    for text in (
        "This week is not over yet",
        "There is no data for this week.",
        "No first orders in the four weeks before this one.",
        "No customer has ordered yet.",
        "No stage change was recorded this week",
        "No campaign ran this week.",
        "No offer was used at checkout this week.",
        "No saved segment changed size this week.",
    ):
        assert text in english, text
    chinese = render_html(empty(), "zh-CN")
    assert 'lang="zh-CN"' in chinese and "每周复盘" in chinese
    for text in ("本周暂无数据。", "本周没有进行中的营销活动。", "本周没有分群的人数发生变化。"):
        assert text in chinese, text
    assert "Weekly review" not in chinese


def test_chinese_numbers_dates_and_units() -> None:
    page = render_html(full(), "zh-CN")
    assert "2024年8月19日" in page and "核心指标" in page and "个百分点" in page
    assert "净收入异常偏高" in page


def test_the_console_fragment_and_the_text_part() -> None:
    body = render_body(full(), "en")
    assert str(body).lstrip().startswith("<div") and "<html" not in body
    text = render_text(full(), "zh-CN", intro="你好", outro="再见", link="http://x/review")
    assert "== 核心指标 ==" in text and "你好" in text and "http://x/review" in text
    assert XSS in text  # plain text: nothing to escape
    assert subject(full(), "en") == "Weekly review: Aug 19\u2009–\u200925, 2024"
    assert subject(full(), "zh_CN").startswith("每周复盘：")


def test_retention_cells_are_shaded_by_rate() -> None:
    assert heat(0.0) == "#ffffff" and heat(None) == "#f6f7f9"
    assert heat(0.6) == heat(0.9) != heat(0.3)
