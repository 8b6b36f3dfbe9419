"""``shizhi import categories`` and ``shizhi import cases`` on small samples in the challenge files' format
(``fixtures/``, and XLSX copies the tests write), and on the challenge files themselves when ../shared is here."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shizhi.core.errors import PermissionDenied
from shizhi.core.models import AuditEvent, Role
from shizhi.core.tests.factories import make_user
from shizhi.hotline import importers
from shizhi.hotline.models import Case, CaseEvent, CaseNumber, Category
from shizhi.hotline.services.history import HistoryIn, history_import

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
TAXONOMY = FIXTURES / "taxonomy_sample.csv"
CASES = FIXTURES / "cases_sample.csv"
TEDDY = Path(__file__).resolve().parents[5] / "shared" / "data" / "teddy2020"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fails(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def sample_rows() -> list[list[str]]:
    with open(CASES, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sheet1"
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def taxonomy() -> dict[str, Category]:
    run("categories", str(TAXONOMY))
    return {c.code: c for c in Category.objects.all()}


# ------------------------------------------------------------------------------------------------ categories


def test_categories_three_levels_stable_codes_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    out, _ = run("categories", str(TAXONOMY), "--dry-run")
    assert "将新增分类 15 个（1级 3 个，2级 4 个，3级 8 个；水电气热类 1 个）" in out
    assert Category.objects.count() == 0
    out, _ = run("categories", str(TAXONOMY))
    assert "新增分类 15 个" in out and "已存在 0 个" in out
    rows = list(Category.objects.order_by("path").values_list("code", "level", "full_name", "sla_kind"))
    assert rows[:5] == [
        ("C01", 1, "城乡建设", "general"),
        ("C0101", 2, "城乡建设 / 市政设施", "general"),
        ("C010101", 3, "城乡建设 / 市政设施 / 路灯", "general"),
        ("C010102", 3, "城乡建设 / 市政设施 / 燃气供应", "utility"),
        ("C010103", 3, "城乡建设 / 市政设施 / 道路", "general"),
    ]
    assert ("C030101", 3, "劳动和社会保障 / 劳动关系 / 拖欠工资", "general") in rows
    # The same taxonomy as XLSX with one new leaf: the 15 are kept, one is added under its parent.
    table = [
        ["一级分类", "二级分类", "三级分类"],
        ["城乡建设", "市政设施", "路灯"],
        ["环境保护", "环境污染", "扬尘"],
    ]
    out, _ = run("categories", str(write_xlsx(tmp_path / "附件1.xlsx", table)))
    assert "新增分类 1 个" in out and "已存在 5 个" in out
    assert Category.objects.get(name="扬尘").code == "C020103"
    out, _ = run("categories", str(TAXONOMY))
    assert "新增分类 0 个" in out and Category.objects.count() == 16


def test_categories_file_without_level_columns_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [["名称", "编码"], ["路灯", "1"]])
    fails("categories", str(path))
    assert Category.objects.count() == 0


# ------------------------------------------------------------------------------------------------ cases


def check_imported(taxonomy: dict[str, Category]) -> None:
    cases = {c.external_id: c for c in Case.objects.select_related("category")}
    assert sorted(cases) == ["1001", "1002", "1003", "1004", "1005"]
    c1 = cases["1001"]
    assert (c1.number, c1.status, c1.category.code, c1.channel) == (
        "2019022800001",
        "replied",
        "C010101",
        "web",
    )
    assert c1.title == "A1区幸福路路灯不亮" and c1.citizen_name == "U0001"
    assert c1.content == "幸福路12号门口的路灯坏了一周，\n晚上很黑。 请尽快修理。"
    assert (
        c1.reply == "网友“U0001”：您好！已于3月1日更换灯泡，经检查路灯恢复正常。\n联系电话：0731-12345678。"
    )
    assert c1.received_at == dt.datetime(2019, 2, 28, 3, 25, 29, tzinfo=dt.UTC)  # 11:25:29 in Beijing
    assert c1.replied_at == dt.datetime(2019, 3, 2, 1, 5, tzinfo=dt.UTC) and c1.received_month == 201902
    assert (c1.due_at, c1.dispatched_at, c1.lead_unit, c1.replied_on_time) == (None, None, None, None)
    c2 = cases["1002"]
    assert (c2.status, c2.title, c2.category.code, c2.number) == (
        "received",
        "工地夜间施工噪音扰民",
        "C02",
        "2019030100001",
    )
    c3 = cases["1003"]
    assert (
        c3.title == "咨询《A市新图》和《A市交通图》的出版情况"
        and c3.content == "请问《A市新图》什么时候出新版？"
    )
    assert (c3.demand_type, c3.received_at.hour, c3.number) == ("inquiry", 16, "2019030500001")  # 00:00 local
    assert cases["1004"].category.code == "C03"  # 劳动和社会保障|城乡建设: the first label
    assert cases["1005"].category.code == "C0101" and cases["1005"].demand_type == "suggestion"
    events = CaseEvent.objects.filter(action="import")
    assert events.count() == 5 and events.get(case=c1).data["row"] == 2
    assert AuditEvent.objects.filter(action="case.import").count() == 1


def test_cases_csv_with_the_challenge_columns(taxonomy: dict[str, Category]) -> None:
    out, _err = run("cases", str(CASES))
    assert "共 5 行，导入 5 件" in out and "2019022800001 … 2019031200001" in out
    check_imported(taxonomy)
    # Importing again adds nothing and says why.
    out, _ = run("cases", str(CASES))
    assert "导入 0 件" in out and "跳过 5 行：留言编号已存在" in out
    assert Case.objects.count() == 5 and AuditEvent.objects.filter(action="case.import").count() == 1


def test_cases_xlsx_with_excel_cells(taxonomy: dict[str, Category], tmp_path: Path) -> None:
    rows: list[list[Any]] = sample_rows()
    for row in rows[1:]:
        row[0] = int(float(row[0]))  # numbers, as Excel stores them
    rows[1][3] = dt.datetime(2019, 2, 28, 11, 25, 29)  # a date cell
    path = write_xlsx(tmp_path / "附件4.xlsx", rows)
    out, _ = run("cases", str(path), "--sheet", "Sheet1")
    assert "导入 5 件" in out
    check_imported(taxonomy)


def test_close_and_default_category_and_mapping(taxonomy: dict[str, Category], tmp_path: Path) -> None:
    rows = [[r[2], r[3], r[4], r[0]] for r in sample_rows()]
    rows[0] = ["主题", "时间", "正文", "编号"]
    path = write_csv(tmp_path / "x.csv", rows)
    run("cases", str(path), "--map", "title=主题,received_at=时间,content=正文", "--default-category", "C02", "--close",
        "--channel", "phone")  # fmt: skip
    assert set(Case.objects.values_list("status", "category__code", "channel")) == {
        ("closed", "C02", "phone")
    }
    assert Case.objects.get(external_id="1001").closed_at == Case.objects.get(external_id="1001").received_at


@pytest.mark.parametrize(
    ("change", "row", "column", "message"),
    [
        (
            lambda rows: [[c for i, c in enumerate(r) if i != 2] for r in rows],
            1,
            "留言主题",
            "缺少“留言主题”列",
        ),
        (
            lambda rows: [*rows[:2], [*rows[2][:3], "2019年13月1日", *rows[2][4:]], *rows[3:]],
            3,
            "留言时间",
            "不存在的日期",
        ),
        (
            lambda rows: [*rows[:3], [*rows[3][:5], "不存在的分类", *rows[3][6:]], *rows[4:]],
            4,
            "一级分类",
            "未找到分类",
        ),
        (
            lambda rows: [*rows[:4], [*rows[4][:4], "<script>alert(1)</script>", *rows[4][5:]], *rows[5:]],
            5,
            "留言详情",
            "HTML",
        ),
        (
            lambda rows: [*rows[:5], [*rows[5][:2], "", *rows[5][3:]], *rows[6:]],
            6,
            "留言主题",
            "标题不能为空",
        ),
        (lambda rows: [*rows, rows[1]], 7, "留言编号", "编号与第2行重复"),
        (lambda rows: [*rows[:1], [*rows[1][:7], "2019/2/1"], *rows[2:]], 2, "答复时间", "早于"),
    ],
    ids=[
        "missing column",
        "bad date",
        "unknown category",
        "html",
        "empty title",
        "duplicate id",
        "reply first",
    ],
)
def test_bad_rows_are_reported_and_nothing_is_imported(
    taxonomy: dict[str, Category], tmp_path: Path, change: Any, row: int, column: str, message: str
) -> None:
    path = write_csv(tmp_path / "bad.csv", change(sample_rows()))
    errors = tmp_path / "errors.csv"
    out, err = fails("cases", str(path), "--errors", str(errors))
    assert "未导入任何数据" in out and f"第 {row} 行  {column}：" in err and message in err
    assert (
        Case.objects.count() == 0
        and CaseNumber.objects.count() == 0
        and not AuditEvent.objects.filter(action="case.import")
    )
    with open(errors, encoding="utf-8-sig") as fh:
        report = list(csv.reader(fh))
    assert report[0] == ["行号", "列", "错误"] and [report[1][0], report[1][1]] == [str(row), column]


def test_empty_file_and_unknown_format(taxonomy: dict[str, Category], tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("\ufeff\n\n", encoding="utf-8")
    with pytest.raises(CommandError, match="文件为空"):
        call_command("import", "cases", str(empty), stdout=io.StringIO(), stderr=io.StringIO())
    other = tmp_path / "x.xls"
    other.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(CommandError, match="只支持 CSV 和 XLSX"):
        call_command("import", "cases", str(other), stdout=io.StringIO(), stderr=io.StringIO())
    assert Case.objects.count() == 0


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(
    taxonomy: dict[str, Category], tmp_path: Path
) -> None:
    rows = sample_rows()
    rows[2][3] = "昨天"
    rows[4][4] = "<b>加粗</b>"
    path = write_csv(tmp_path / "mixed.csv", rows)
    errors = tmp_path / "errors.csv"
    out, _err = run("cases", str(path), "--skip-invalid", "--errors", str(errors))
    assert "导入 3 件" in out and "跳过 2 行：有错误" in out
    assert sorted(Case.objects.values_list("external_id", flat=True)) == ["1001", "1003", "1005"]
    with open(errors, encoding="utf-8-sig") as fh:
        assert [r[:2] for r in csv.reader(fh)][1:] == [["3", "留言时间"], ["5", "留言详情"]]
    # Fixed, the same file adds exactly the two missing rows.
    rows[2][3], rows[4][4] = "2019/3/1 23:10:05", "工资被拖欠了半年"
    out, _ = run("cases", str(write_csv(path, rows)))
    assert "导入 2 件" in out and "跳过 3 行：留言编号已存在" in out and Case.objects.count() == 5


def test_dry_run_checks_everything_and_saves_nothing(taxonomy: dict[str, Category]) -> None:
    out, _ = run("cases", str(CASES), "--dry-run")
    assert "检查通过，可导入 5 件（试运行，未保存）" in out
    assert Case.objects.count() == 0 and CaseNumber.objects.count() == 0


def test_service_refuses_actors_without_the_right(taxonomy: dict[str, Category]) -> None:
    operator = make_user("operator", (Role.OPERATOR, None, None))
    row = HistoryIn(row=2, title="路灯不亮", content="路灯坏了一周了", category=taxonomy["C01"],
                    received_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    with pytest.raises(PermissionDenied):
        history_import(actor=operator, rows=[row], source="x")
    admin = make_user("admin", (Role.ADMIN, None, None))
    result = history_import(actor=admin, rows=[row], source="x")
    assert result.created == 1 and Case.objects.get().created_by == admin


# ------------------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/2/28 11:25:29", dt.datetime(2019, 2, 28, 11, 25, 29)),
        ("2019-02-28 11:25", dt.datetime(2019, 2, 28, 11, 25)),
        ("2019/2/28", dt.datetime(2019, 2, 28)),
        ("2019年2月28日 8时5分", dt.datetime(2019, 2, 28, 8, 5)),
        (dt.datetime(2019, 2, 28, 11, 25, 29), dt.datetime(2019, 2, 28, 11, 25, 29)),
        (43524.5, dt.datetime(2019, 2, 28, 12, 0)),  # an Excel serial number
    ],
)
def test_parse_moment_reads_local_times(value: Any, expected: dt.datetime) -> None:
    moment = importers.parse_moment(value)
    assert moment.tzinfo is not None and moment.replace(tzinfo=None) == expected
    assert moment.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize("value", ["2019/2/30", "昨天", "2019-02", "2199/1/1"])
def test_parse_moment_refuses_what_is_not_a_time(value: str) -> None:
    with pytest.raises(ValueError):
        importers.parse_moment(value)


def test_cleaning_and_matching(taxonomy: dict[str, Category]) -> None:
    assert importers.clean_text("\n\t\t\t\n\t\t正文_x000D_\n\t第二行\t\t结束\n\t\t") == "正文\n第二行 结束"
    assert importers.one_line("  标题\t_x000D_ 二 ") == "标题 二"
    assert importers.external_id(22687.0) == "22687" and importers.external_id("22687.0") == "22687"
    assert importers.clean_text("<p>段落</p> 和 <A市新图>") == "<p>段落</p> 和 《A市新图》"
    matcher = importers.CategoryMatcher()
    assert matcher.match("路灯").code == "C010101"
    assert matcher.match("城乡建设/住房保障").code == "C0102"
    with pytest.raises(ValueError, match="不唯一"):
        matcher.match("其他")
    assert [
        importers.guess_demand_type(t) for t in ("举报黑作坊", "请问如何办理居住证", "表扬环卫工", "路灯不亮")
    ] == [
        "report",
        "inquiry",
        "praise",
        "complaint",
    ]


# ------------------------------------------------------------------------------------------------ real files


@pytest.mark.skipif(not TEDDY.is_dir(), reason="the challenge data (../shared/data/teddy2020) is not here")
def test_the_challenge_files_read_as_they_are() -> None:
    table = importers.read_table(TEDDY / "official" / "附件1.xlsx")
    plan = importers.plan_taxonomy(importers.taxonomy_paths(table))
    assert (len(plan.rows), plan.new_by_level) == (650, {1: 15, 2: 118, 3: 517})
    assert [r.name for r in plan.rows if r.sla_kind == "utility"] == ["燃气供应"]
    call_command(
        "import",
        "categories",
        str(TEDDY / "official" / "附件1.csv"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    top = Category.objects.get(name="城乡建设", level=1)
    options = importers.CaseOptions(default_category=top)
    rows, errors = importers.case_rows(importers.read_table(TEDDY / "official" / "附件4.csv"), options)
    assert (len(rows), errors) == (2816, [])
    assert all(r.reply and r.replied_at and "_x000D_" not in r.content + r.reply for r in rows)
    messages = importers.labelled_messages(TEDDY / "train.csv")
    assert len(messages) == 2788 and {m[0] for m in messages} >= {"城乡建设", "环境保护", "交通运输"}
