"""``shizhi import categories FILE`` and ``shizhi import cases FILE``: load a category taxonomy or historical
cases from CSV or XLSX (导入分类 / 导入历史工单). Thin: reading is in :mod:`shizhi.hotline.importers`, writing in
the services; this prints progress on stderr, a summary on stdout, and the rows that failed.

    shizhi import categories 附件1.xlsx [--sheet Sheet1] [--dry-run]
    shizhi import cases 附件4.xlsx --default-category C01 [--map 'title=留言主题,...'] [--channel web]
        [--sheet NAME] [--skip-invalid] [--errors errors.csv] [--close] [--dry-run]
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from shizhi.core.context import change_context
from shizhi.core.errors import ApplicationError
from shizhi.hotline import importers
from shizhi.hotline.models import Category, Channel
from shizhi.hotline.services import categories_import
from shizhi.hotline.services.history import HistoryIn, HistoryResult, RowError, history_check, history_import

SHOWN_ERRORS = 20


class _DryRun(Exception):
    """Raised to roll back a dry run after everything was checked and written."""


class Command(BaseCommand):
    help = "从 CSV/XLSX 导入诉求分类（categories）或历史工单（cases）"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True, metavar="{categories,cases}")
        cats = sub.add_parser("categories", help="导入分类体系：一级分类、二级分类、三级分类")
        cats.add_argument("file")
        cats.add_argument("--sheet", help="XLSX 工作表名称（默认第一个）")
        cats.add_argument("--dry-run", action="store_true", help="只检查并报告，不写入")
        cases = sub.add_parser("cases", help="导入历史工单（留言编号、留言主题、留言详情、一级标签……）")
        cases.add_argument("file")
        cases.add_argument("--map", default="", help="列映射，如 'title=留言主题,content=留言详情'")
        cases.add_argument(
            "--channel", default=Channel.WEB, choices=Channel.values, help="来源渠道（默认 web）"
        )
        cases.add_argument("--sheet", help="XLSX 工作表名称（默认第一个）")
        cases.add_argument("--default-category", help="没有分类列或分类无法识别时使用的分类编码")
        cases.add_argument("--default-received-at", help="没有留言时间的行使用的时间，如 2019-01-01")
        cases.add_argument("--skip-invalid", action="store_true", help="导入有效行，跳过并报告无效行")
        cases.add_argument("--errors", help="把出错的行写入此 CSV 文件（行号,列,错误）")
        cases.add_argument("--close", action="store_true", help="导入为已办结（默认：有答复的为已答复）")
        cases.add_argument("--dry-run", action="store_true", help="完整检查但不保存")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            with change_context(origin="cli"):
                if options["what"] == "categories":
                    self._categories(options)
                else:
                    self._cases(options)
        except ApplicationError as exc:
            raise CommandError(f"导入失败，未做任何改动：{exc.message}") from exc
        self.stderr.write(f"用时 {time.perf_counter() - started:.1f} 秒")

    # -------------------------------------------------------------------------------------------- categories

    def _categories(self, options: dict[str, Any]) -> None:
        table = importers.read_table(options["file"], sheet=options["sheet"])
        paths = importers.taxonomy_paths(table)
        with transaction.atomic():
            plan = importers.plan_taxonomy(paths)
            if not options["dry_run"]:
                categories_import(actor=None, rows=plan.rows)
        levels = "，".join(f"{level}级 {n} 个" for level, n in sorted(plan.new_by_level.items()))
        utility = sum(1 for r in plan.rows if r.sla_kind == "utility")
        verb = "将新增" if options["dry_run"] else "新增"
        self.stdout.write(
            f"{table.name}：{len(paths)} 行，{verb}分类 {len(plan.rows)} 个"
            + (f"（{levels}；水电气热类 {utility} 个）" if plan.rows else "")
            + f"，已存在 {plan.existing} 个（保留不变）。"
            + ("（试运行，未保存）" if options["dry_run"] else "")
        )

    # -------------------------------------------------------------------------------------------- cases

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.stderr.write(f"  {stage} {done:,}/{total:,}（{100 * done // max(total, 1)}%）")

    def _cases(self, options: dict[str, Any]) -> None:
        case_options = importers.CaseOptions(
            channel=options["channel"], mapping=importers.parse_map(options["map"])
        )
        if options["default_category"]:
            category = Category.objects.filter(code=options["default_category"]).first()
            if category is None:
                raise CommandError(f"分类编码“{options['default_category']}”不存在")
            case_options.default_category = category
        if options["default_received_at"]:
            try:
                case_options.default_received_at = importers.parse_moment(options["default_received_at"])
            except ValueError as exc:
                raise CommandError(f"--default-received-at：{exc}") from exc
        table = importers.read_table(options["file"], sheet=options["sheet"])
        self.stderr.write(f"读取 {table.name}：{len(table.rows):,} 行")
        rows, errors = importers.case_rows(table, case_options, progress=self._progress)
        header_broken = any(e.row <= 1 for e in errors)
        if header_broken or (errors and not options["skip_invalid"]):
            # Refused already while reading: still check the other rows in full, to report them all.
            _, service_errors = history_check(rows)
            result = HistoryResult(errors=service_errors, invalid=len(service_errors))
        else:
            result = self._write(rows, table.name, options)
        for e in result.errors:
            e.column = importers.column_of(table, case_options, e.column)
        all_errors = sorted([*errors, *result.errors], key=lambda e: e.row)
        self._report_errors(all_errors, options["errors"])
        refused = header_broken or (bool(all_errors) and not options["skip_invalid"])
        self.stdout.write(self._summary(table.name, len(table.rows), result, all_errors, refused, options))
        if refused:
            raise CommandError("文件有错误，未导入任何数据")

    def _summary(
        self,
        name: str,
        total: int,
        result: HistoryResult,
        errors: Sequence[RowError],
        refused: bool,
        options: dict[str, Any],
    ) -> str:
        bad_rows = len({e.row for e in errors})
        if refused:
            hint = "" if any(e.row <= 1 for e in errors) else "（可用 --skip-invalid 只导入有效行）"
            return f"{name}：共 {total:,} 行，{bad_rows:,} 行有错误，未导入任何数据{hint}"
        verb = "检查通过，可导入" if options["dry_run"] else "导入"
        lines = [
            f"{name}：共 {total:,} 行，{verb} {result.created:,} 件"
            + ("（试运行，未保存）" if options["dry_run"] else "")
        ]
        if result.created and not options["dry_run"]:
            lines.append(f"  工单编号 {result.first_number} … {result.last_number}")
        if result.without_id:
            lines.append(f"  其中 {result.without_id:,} 件没有留言编号：再次导入同一文件会重复导入这些行")
        if result.skipped_existing:
            lines.append(f"  跳过 {result.skipped_existing:,} 行：留言编号已存在（已导入过）")
        if errors:
            lines.append(f"  跳过 {bad_rows:,} 行：有错误（见上）")
        return "\n".join(lines)

    def _write(self, rows: Sequence[HistoryIn], source: str, options: dict[str, Any]) -> HistoryResult:
        result = HistoryResult()
        try:
            with transaction.atomic():
                result = history_import(
                    actor=None,
                    rows=rows,
                    source=source,
                    close=options["close"],
                    skip_invalid=options["skip_invalid"],
                    progress=self._progress,
                )
                if options["dry_run"]:
                    raise _DryRun
        except _DryRun:
            pass
        return result

    def _report_errors(self, errors: Sequence[RowError], path: str | None) -> None:
        for e in errors[:SHOWN_ERRORS]:
            self.stderr.write(f"  第 {e.row} 行  {e.column}：{e.message}")
        if len(errors) > SHOWN_ERRORS:
            self.stderr.write(
                f"  ……另有 {len(errors) - SHOWN_ERRORS} 个错误" + (f"，见 {path}" if path else "")
            )
        if path and errors:
            with open(path, "w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["行号", "列", "错误"])
                writer.writerows([e.row, e.column, e.message] for e in errors)
