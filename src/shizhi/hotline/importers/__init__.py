"""Reading spreadsheets for the hotline (导入): a category taxonomy (诉求分类) and historical cases (历史工单),
from CSV (UTF-8 with or without BOM, or GB18030) or XLSX, with Chinese column names recognised as they are
in the 12345 and message-board exports (留言编号, 留言主题, 留言详情, 一级标签, 答复意见 ...).

This package only reads, cleans and maps: every write goes through ``services.categories_import`` and
``services.history.history_import``."""

from shizhi.hotline.importers.cases import (
    CASE_COLUMNS,
    CaseOptions,
    case_rows,
    column_of,
    labelled_messages,
    parse_map,
    resolve_columns,
)
from shizhi.hotline.importers.tables import (
    Table,
    clean_text,
    external_id,
    guess_demand_type,
    one_line,
    parse_moment,
    read_table,
)
from shizhi.hotline.importers.taxonomy import (
    UTILITY_WORDS,
    CategoryMatcher,
    TaxonomyPlan,
    plan_taxonomy,
    sla_kind_for,
    taxonomy_paths,
)

__all__ = [
    "CASE_COLUMNS",
    "UTILITY_WORDS",
    "CaseOptions",
    "CategoryMatcher",
    "Table",
    "TaxonomyPlan",
    "case_rows",
    "clean_text",
    "column_of",
    "external_id",
    "guess_demand_type",
    "labelled_messages",
    "one_line",
    "parse_map",
    "parse_moment",
    "plan_taxonomy",
    "read_table",
    "resolve_columns",
    "sla_kind_for",
    "taxonomy_paths",
]
