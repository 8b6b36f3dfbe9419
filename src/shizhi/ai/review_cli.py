"""``shizhi ai review``: score one reply, or measure how the scores agree with people's labels.

    shizhi ai review --title 路灯不亮 --text "幸福路的路灯坏了一周" --reply "已更换灯泡……"
    shizhi ai review --evaluate [--replies 附件4.csv] [--annotations a.csv,b.csv] [--json OUT]

Evaluation reads the replies (留言编号, 留言主题, 留言详情, 答复意见: the 2020 Teddy Cup's 附件4, CSV or XLSX) and
one or more annotation files with the same 留言编号 and label columns (a name with 可解释 is interpretability, 完整
completeness, 相关 relevance; blank cells are unlabelled). Without paths it reads ``../shared/data/teddy2020``
beside the repository. Per file and dimension it prints: the rows labelled, the label distribution, Spearman's rho
(and AUC for two classes) between our score and the label, accuracy and Cohen's kappa when our flag (score below
the setting's threshold) is read as the lowest label, and, as a simple calibration of the scale, the same after
choosing the cut on the rows with an even 留言编号 so that as many are predicted good as were labelled good there,
reported on the odd rows only. Nothing else is fitted. Where two files label the same dimension of the same
rows, the annotators' own agreement is printed too.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.core.management.base import CommandError

from shizhi.ai import review

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data" / "teddy2020"
DEFAULT_REPLIES = SHARED / "official" / "附件4.csv"
DEFAULT_ANNOTATIONS = (
    sorted((SHARED / "annotations").glob("*.csv")) if (SHARED / "annotations").is_dir() else []
)
REPLY_COLUMNS = ("留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "答复意见", "答复时间")
DIMENSION_WORDS = (("可解释", "interpretability"), ("完整", "completeness"), ("相关", "relevance"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--title", default="", help="the message's title (留言主题)")
    parser.add_argument("--text", default=None, help="the message (留言详情)")
    parser.add_argument("--reply", default=None, help="the reply to score (答复意见)")
    parser.add_argument("--evaluate", action="store_true", help="agreement with labelled replies")
    parser.add_argument("--replies", default=None, help=f"replies file (default {DEFAULT_REPLIES})")
    parser.add_argument(
        "--annotations", default=None, help="annotation files, comma-separated (default: all in ../shared)"
    )
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N labelled rows")
    parser.add_argument(
        "--json", default=None, help="also write the result as JSON to this file ('-': stdout)"
    )


# --------------------------------------------------------------------------------------------------------------
# Reading the files
# --------------------------------------------------------------------------------------------------------------


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV (UTF-8, with or without BOM, or GB18030) or the first sheet of an XLSX, as dicts."""
    if not path.is_file():
        raise CommandError(f"file not found: {path}")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        header = [h.strip() for h in rows[0]] if rows else []
        return [dict(zip(header, r, strict=False)) for r in rows[1:]]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with path.open(encoding=encoding, newline="") as f:
                return [{(k or "").strip(): v or "" for k, v in row.items()} for row in csv.DictReader(f)]
        except UnicodeDecodeError:
            continue
    raise CommandError(f"cannot decode {path} as UTF-8 or GB18030")


@dataclass
class Message:
    title: str
    content: str
    reply: str


def load_replies(path: Path) -> dict[str, Message]:
    rows = read_table(path)
    if rows and not {"留言编号", "答复意见"} <= set(rows[0]):
        raise CommandError(f"{path}: needs the columns 留言编号 and 答复意见")
    return {
        r["留言编号"].strip(): Message(r.get("留言主题", ""), r.get("留言详情", ""), r.get("答复意见", ""))
        for r in rows
        if r.get("留言编号", "").strip()
    }


def dimension_of(column: str) -> str | None:
    return next((dim for word, dim in DIMENSION_WORDS if word in column), None)


def load_labels(path: Path) -> dict[str, dict[str, float]]:
    """{dimension: {留言编号: label}} of one annotation file; blank or non-numeric cells are unlabelled."""
    rows = read_table(path)
    out: dict[str, dict[str, float]] = {}
    for column in rows[0] if rows else []:
        dim = dimension_of(column)
        if dim is None or column in REPLY_COLUMNS:
            continue
        labels: dict[str, float] = {}
        for r in rows:
            raw, key = (r.get(column) or "").strip(), (r.get("留言编号") or "").strip()
            try:
                value = float(raw)
            except ValueError:
                continue
            if key and not math.isnan(value):
                labels[key] = value
        if labels:
            out[dim] = labels
    if not out:
        raise CommandError(f"{path}: no label column (a name with 可解释, 完整 or 相关)")
    return out


# --------------------------------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------------------------------


def to_scale(scores: list[float], classes: list[float], cuts: list[float]) -> list[float]:
    """Scores to labels: class k for scores in [cuts[k-1], cuts[k]) (the lowest class below cuts[0])."""
    import bisect

    return [classes[bisect.bisect_right(cuts, s)] for s in scores]


def quantile_cuts(scores: list[float], labels: list[float], classes: list[float]) -> list[float]:
    """Cuts that give each class the share it has in ``labels`` (scores sorted, cut where the shares end)."""
    ordered = sorted(scores)
    counts = Counter(labels)
    cuts, seen = [], 0
    for c in classes[:-1]:
        seen += counts[c]
        k = min(len(ordered) - 1, max(0, seen))
        cuts.append(ordered[k] if seen < len(ordered) else math.inf)
    return cuts


def agreement(scores: list[float], labels: list[float], keys: list[str], threshold: float) -> dict[str, Any]:
    """Spearman, AUC, accuracy and kappa of ``scores`` against ``labels`` (see the module's docstring)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import cohen_kappa_score, roc_auc_score

    classes = sorted(set(labels))
    n = len(labels)
    out: dict[str, Any] = {
        "n": n,
        "labels": {_fmt(c): sum(1 for x in labels if x == c) for c in classes},
        "score_mean": round(sum(scores) / n, 4) if n else None,
    }
    if n < 3 or len(classes) < 2:
        out["note"] = "fewer than 3 rows or a single label value: no agreement figures"
        return out
    rho, p = spearmanr(scores, labels)
    out["spearman"] = None if math.isnan(rho) else round(float(rho), 4)
    out["spearman_p"] = None if math.isnan(p) else float(f"{p:.3g}")
    if len(classes) == 2:
        out["auc"] = round(float(roc_auc_score([x == classes[1] for x in labels], scores)), 4)
    # Our flag, read on the label scale: flagged = the lowest label; for more than two classes the unflagged
    # range [threshold, 1] is spread evenly over the others.
    upper = classes[1:]
    cuts = [threshold + (1 - threshold) * i / len(upper) for i in range(len(upper))]
    predicted = to_scale(scores, classes, cuts)
    majority = Counter(labels).most_common(1)[0][1] / n
    out["flag_threshold"] = threshold
    out["accuracy"] = round(sum(a == b for a, b in zip(predicted, labels, strict=True)) / n, 4)
    out["kappa"] = round(float(cohen_kappa_score(labels, predicted)), 4)
    out["majority_accuracy"] = round(majority, 4)
    # Calibration of the scale: cuts from the even rows' label shares, judged on the odd rows.
    even = [i for i, k in enumerate(keys) if _parity(k) == 0]
    odd = [i for i, k in enumerate(keys) if _parity(k) == 1]
    if len(even) >= 10 and len(odd) >= 10 and len({labels[i] for i in odd}) > 1:
        cuts = quantile_cuts([scores[i] for i in even], [labels[i] for i in even], classes)
        odd_pred = to_scale([scores[i] for i in odd], classes, cuts)
        odd_labels = [labels[i] for i in odd]
        out["calibrated"] = {
            "cuts": [round(c, 4) for c in cuts],
            "fit_rows": len(even),
            "test_rows": len(odd),
            "accuracy": round(sum(a == b for a, b in zip(odd_pred, odd_labels, strict=True)) / len(odd), 4),
            "kappa": round(float(cohen_kappa_score(odd_labels, odd_pred)), 4),
            "majority_accuracy": round(Counter(odd_labels).most_common(1)[0][1] / len(odd), 4),
        }
    return out


def _parity(key: str) -> int:
    digits = "".join(ch for ch in key if ch.isdigit())
    return int(digits[-1]) % 2 if digits else 0


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def evaluate(replies_path: Path, annotation_paths: list[Path], limit: int | None = None) -> dict[str, Any]:
    """Score every labelled reply once and compare, per annotation file and dimension."""
    messages = load_replies(replies_path)
    files = {p: load_labels(p) for p in annotation_paths}
    wanted = sorted(
        {k for labels in files.values() for per in labels.values() for k in per if k in messages},
        key=lambda k: (len(k), k),
    )
    if limit is not None:
        wanted = wanted[:limit]
    reviews = {
        k: review.review_reply(
            message_title=messages[k].title, message_content=messages[k].content, reply=messages[k].reply
        )
        for k in wanted
    }
    thresholds = review.review_setting("thresholds")
    result: dict[str, Any] = {
        "replies": str(replies_path),
        "replies_rows": len(messages),
        "scored": len(reviews),
        "thresholds": thresholds,
        "files": {},
        "annotators": {},
        # How often the hotline would warn, and the mean score, over every scored reply.
        "flagged_share": {
            d: round(sum(1 for r in reviews.values() if d in r.flags) / max(1, len(reviews)), 4)
            for d in review.DIMENSIONS
        },
        "mean_score": {
            d: round(sum(r.scores[d] for r in reviews.values()) / max(1, len(reviews)), 4)
            for d in review.DIMENSIONS
        },
    }
    for path, labels in files.items():
        per_file: dict[str, Any] = {}
        for dim, per in labels.items():
            keys = [k for k in wanted if k in per]
            per_file[dim] = agreement(
                [reviews[k].scores[dim] for k in keys], [per[k] for k in keys], keys, float(thresholds[dim])
            )
            per_file[dim]["missing_replies"] = sum(1 for k in per if k not in messages)
        result["files"][path.name] = per_file
    # The annotators against each other, where two files label the same dimension.
    from sklearn.metrics import cohen_kappa_score

    names = list(files)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for dim in set(files[a]) & set(files[b]):
                common = [k for k in files[a][dim] if k in files[b][dim]]
                if len(common) < 3:
                    continue
                la = [files[a][dim][k] for k in common]
                lb = [files[b][dim][k] for k in common]
                result["annotators"][f"{a.name} vs {b.name}: {dim}"] = {
                    "n": len(common),
                    "agreement": round(sum(x == y for x, y in zip(la, lb, strict=True)) / len(common), 4),
                    "kappa": round(float(cohen_kappa_score(la, lb)), 4),
                }
    return result


# --------------------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------------------


def _cell(value: Any, width: int, digits: int = 3) -> str:
    if value is None:
        return "-".rjust(width)
    if isinstance(value, float):
        return f"{value:.{digits}f}".rjust(width)
    return str(value).rjust(width)


def print_table(result: dict[str, Any], out: IO[str]) -> None:
    out.write(
        f"reply review agreement (答复质量): {result['scored']} replies scored of {result['replies_rows']} "
        f"in {result['replies']}\n"
    )
    t = result["thresholds"]
    out.write(
        f"flag thresholds: relevance {t['relevance']}, completeness {t['completeness']}, "
        f"interpretability {t['interpretability']} (score below = flagged = lowest label)\n"
    )
    out.write(
        "flagged share of all scored replies: "
        + ", ".join(
            f"{d} {v:.1%} (mean score {result['mean_score'][d]:.2f})"
            for d, v in result["flagged_share"].items()
        )
        + "\n"
    )
    out.write(
        f"{'file':<44} {'dimension':<16} {'n':>5} {'labels':<14} {'rho':>7} {'p':>9} {'AUC':>6} "
        f"{'acc':>6} {'kappa':>6} {'major':>6} | {'acc*':>6} {'kappa*':>6} {'major*':>6} {'n*':>5}\n"
    )
    for name, per in result["files"].items():
        for dim, d in per.items():
            labels = " ".join(f"{k}:{v}" for k, v in d["labels"].items())
            cal = d.get("calibrated") or {}
            out.write(
                f"{name[:44]:<44} {dim:<16} {d['n']:>5} {labels:<14} {_cell(d.get('spearman'), 7)} "
                f"{'-' if d.get('spearman_p') is None else format(d['spearman_p'], '.2g'):>9} "
                f"{_cell(d.get('auc'), 6)} {_cell(d.get('accuracy'), 6)} {_cell(d.get('kappa'), 6)} "
                f"{_cell(d.get('majority_accuracy'), 6)} | {_cell(cal.get('accuracy'), 6)} "
                f"{_cell(cal.get('kappa'), 6)} {_cell(cal.get('majority_accuracy'), 6)} {_cell(cal.get('test_rows'), 5)}\n"
            )
    out.write(
        "acc/kappa: our flag as the label; major: always the most common label; * = cut calibrated on even "
        "留言编号, reported on odd ones (n*)\n"
    )
    for pair, d in result["annotators"].items():
        out.write(f"annotators {pair}: n {d['n']}, agreement {d['agreement']:.3f}, kappa {d['kappa']:.3f}\n")


def print_review(rv: review.ReplyReview, out: IO[str]) -> None:
    names = {"relevance": "相关性", "completeness": "完整性", "interpretability": "可解释性"}
    for dim in review.DIMENSIONS:
        mark = "  <- weak" if dim in rv.flags else ""
        out.write(f"{dim:<17} {names[dim]:<5} {rv.scores[dim]:.2f}{mark}\n")
        for message in rv.reasons_for(dim):
            out.write(f"    - {message}\n")
    out.write(f"overall           {rv.overall:.2f}  {'OK' if rv.ok else 'flagged: ' + ', '.join(rv.flags)}\n")


def _write_json(target: str, data: Any, out: IO[str]) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if target == "-":
        out.write(text + "\n")
    else:
        Path(target).write_text(text, encoding="utf-8")
        out.write(f"written to {target}\n")


def handle(options: dict[str, Any], stdout: IO[str]) -> None:
    if options.get("evaluate"):
        replies = Path(options["replies"]) if options.get("replies") else DEFAULT_REPLIES
        annotations = (
            [Path(p.strip()) for p in str(options["annotations"]).split(",") if p.strip()]
            if options.get("annotations")
            else DEFAULT_ANNOTATIONS
        )
        if not annotations:
            raise CommandError(f"no annotation files given and none found in {SHARED / 'annotations'}")
        result = evaluate(replies, annotations, limit=options.get("limit"))
        print_table(result, stdout)
        if options.get("json"):
            _write_json(str(options["json"]), result, stdout)
        return
    if options.get("reply") is None:
        raise CommandError("give --reply (with --title/--text), or --evaluate")
    rv = review.review_reply(
        message_title=options.get("title") or "",
        message_content=options.get("text") or "",
        reply=options["reply"],
    )
    if options.get("json") == "-":
        _write_json("-", rv.as_dict(), stdout)
        return
    print_review(rv, stdout)
    if options.get("json"):
        _write_json(str(options["json"]), rv.as_dict(), stdout)
