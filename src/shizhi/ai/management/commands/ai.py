"""``shizhi ai ...``: train, evaluate, compare and use the text classifiers (智能辅助). Thin: the work is in
:mod:`shizhi.ai.services` and :mod:`shizhi.ai.selectors`; bad input exits non-zero with the reason.

    shizhi ai train --data train.csv --text 留言主题,留言详情 --fallback-text text_concat --label 一级标签 \\
        [--name NAME] [--task category] [--pipeline P] [--folds 5] [--drop-rare] [--activate] [--json OUT]
    shizhi ai train --from-cases --task category|unit|demand_type [--level N] [--limit N] [--name NAME]
    shizhi ai evaluate --model NAME|latest [--version N] --data FILE --text ... --label ... [--json OUT]
    shizhi ai predict --model NAME|latest [--version N] [-k 3] "text"
    shizhi ai models [--task T]
    shizhi ai activate NAME --version N
    shizhi ai compare --data FILE --text ... --label ... [--pipelines a,b] [--seeds 0,1,2] [--json OUT]
    shizhi ai review ...   (when shizhi.ai.review_cli is installed)
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time
import unicodedata
from pathlib import Path
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shizhi.ai import selectors as sel
from shizhi.ai import services
from shizhi.ai.datasets import LabelledTexts, check_trainable, read_labelled
from shizhi.ai.models import Task
from shizhi.ai.pipelines import CANDIDATES, DEFAULT_PIPELINE
from shizhi.core.context import change_context
from shizhi.core.errors import ApplicationError

REVIEW_MODULE = "shizhi.ai.review_cli"


def review_module() -> ModuleType | Exception | None:
    """The reply-review command line (another module), when it is installed: the module, the error that
    stopped it from importing, or None when it does not exist (yet)."""
    try:
        module = importlib.import_module(REVIEW_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == REVIEW_MODULE:
            return None
        return exc
    except Exception as exc:  # its own bug must not take `shizhi ai train` down with it
        return exc
    if callable(getattr(module, "add_arguments", None)) and callable(getattr(module, "handle", None)):
        return module
    return None


def width(text: str) -> int:
    """Columns a string takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def _data_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--data", required=required, help="CSV 或 XLSX 文件")
    parser.add_argument("--text", help="文本列，多个用逗号分隔（如 留言主题,留言详情）")
    parser.add_argument("--fallback-text", help="文本列都为空时使用的列（如 text_concat）")
    parser.add_argument("--label", help="标签列（如 一级标签）")
    parser.add_argument("--sheet", help="XLSX 工作表名称（默认第一个）")


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="模型名称，或 latest（最近训练的模型）")
    parser.add_argument("--version", type=int, help="版本号（默认：该名称启用中的版本，否则最新版本）")


class Command(BaseCommand):
    help = "智能辅助：训练、评估、比较和使用文本分类模型（诉求分类、承办单位、诉求类型）"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        train = sub.add_parser("train", help="训练模型（交叉验证后存入模型库）")
        _data_arguments(train, required=False)
        train.add_argument("--from-cases", action="store_true", help="用数据库中的工单训练（含话务员改选）")
        train.add_argument("--task", default=Task.CATEGORY, choices=Task.values, help="任务（默认 category）")
        train.add_argument("--level", type=int, help="诉求分类的层级（--from-cases，默认最细一级）")
        train.add_argument("--limit", type=int, default=sel.DEFAULT_CASE_LIMIT, help="最多读取的最新工单数")
        train.add_argument("--name", help="模型名称（默认：任务名，或 cases-任务名）")
        train.add_argument("--pipeline", default=DEFAULT_PIPELINE, help=f"算法（默认 {DEFAULT_PIPELINE}）")
        train.add_argument("--folds", type=int, default=5, help="分层交叉验证折数（默认 5；0 = 不做）")
        train.add_argument("--seed", type=int, default=0)
        train.add_argument(
            "--drop-rare", action="store_true", help="去掉样本数少于折数的类别（否则拒绝训练）"
        )
        train.add_argument(
            "--activate", action="store_true", help="训练后立即启用（任务尚无启用模型时总会启用）"
        )
        train.add_argument("--note", default="", help="说明")
        train.add_argument("--json", help="把评估指标写入此 JSON 文件")

        evaluate = sub.add_parser("evaluate", help="在带标签的文件上评估模型")
        _model_arguments(evaluate)
        _data_arguments(evaluate)
        evaluate.add_argument("--json", help="把指标写入此 JSON 文件")

        predict = sub.add_parser("predict", help="预测一条文本的前 k 个标签及概率")
        _model_arguments(predict)
        predict.add_argument("-k", type=int, default=3)
        predict.add_argument("text", nargs="+", help="文本")

        models = sub.add_parser("models", help="列出模型库中的模型")
        models.add_argument("--task", choices=Task.values)

        activate = sub.add_parser("activate", help="启用某个版本（回滚）")
        activate.add_argument("name")
        activate.add_argument("--version", type=int, required=True)

        compare = sub.add_parser("compare", help="用交叉验证比较候选算法")
        _data_arguments(compare)
        compare.add_argument("--pipelines", default=",".join(CANDIDATES), help="候选算法，逗号分隔")
        compare.add_argument("--seeds", default="0", help="交叉验证的随机种子，逗号分隔（重复交叉验证）")
        compare.add_argument("--folds", type=int, default=5)
        compare.add_argument("--drop-rare", action="store_true")
        compare.add_argument("--json", help="把结果写入此 JSON 文件")

        review = review_module()
        if review is not None:
            help_text = "答复质量评查" if isinstance(review, ModuleType) else "答复质量评查（模块加载失败）"
            review_parser = sub.add_parser("review", help=help_text)
            if isinstance(review, ModuleType):
                review.add_arguments(review_parser)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "review":
            review = review_module()
            if not isinstance(review, ModuleType):
                raise CommandError(f"答复质量评查模块无法加载：{review}")
            review.handle(options, self.stdout)
            return
        try:
            with change_context(origin="cli"):
                getattr(self, f"_{action}")(options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

    # -------------------------------------------------------------------------------------------- helpers

    def _say(self, message: str) -> None:
        self.stderr.write(message)

    def _data(self, options: dict[str, Any]) -> LabelledTexts:
        missing = [flag for flag, key in (("--text", "text"), ("--label", "label")) if not options.get(key)]
        if missing:
            raise CommandError(f"缺少参数：{' '.join(missing)}")
        data = read_labelled(
            options["data"],
            text=options["text"],
            label=options["label"],
            fallback_text=options.get("fallback_text"),
            sheet=options.get("sheet"),
        )
        skipped = "，".join(f"{reason} {n}" for reason, n in data.skipped.items() if n)
        self._say(
            f"读取 {data.source}：{len(data)} 行，{len(data.counts())} 个类别"
            + (f"（跳过：{skipped}）" if skipped else "")
        )
        return data

    def _write_json(self, path: str | None, payload: dict[str, Any]) -> None:
        if path:
            Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
            self._say(f"已写入 {path}")

    def _print_metrics(self, figures: dict[str, Any]) -> None:
        out = self.stdout
        line = f"准确率 accuracy {figures['accuracy']:.4f}  宏平均F1 macro-F1 {figures['macro_f1']:.4f}"
        if "top3_accuracy" in figures:
            line += f"  前3命中率 top-3 {figures['top3_accuracy']:.4f}"
        out.write(line + f"  （{figures['rows']} 行）")
        columns = max([width(r["label"]) for r in figures["per_class"]] + [4])
        out.write(f"  {pad('类别', columns)}  precision  recall      F1  support")
        for r in figures["per_class"]:
            out.write(
                f"  {pad(r['label'], columns)}  {r['precision']:>9.4f}  {r['recall']:>6.4f}  {r['f1']:>6.4f}  {r['support']:>7}"
            )
        labels = figures["confusion"]["labels"]
        out.write("混淆矩阵 confusion matrix（行 = 真实，列 = 预测；列号同行号）")
        for i, (label, row) in enumerate(zip(labels, figures["confusion"]["matrix"], strict=True), start=1):
            out.write(f"  {i:>2} {pad(label, columns)} " + " ".join(f"{v:>5}" for v in row))

    # -------------------------------------------------------------------------------------------- actions

    def _train(self, options: dict[str, Any]) -> None:
        task = options["task"]
        common = {
            "pipeline": options["pipeline"],
            "folds": options["folds"],
            "seed": options["seed"],
            "drop_rare": options["drop_rare"],
            "activate": options["activate"],
            "note": options["note"],
            "progress": self._say,
        }
        started = time.perf_counter()
        if options["from_cases"]:
            if options.get("data"):
                raise CommandError("--from-cases 与 --data 只能选一个")
            result = services.model_train_from_cases(
                actor=None,
                task=task,
                name=options["name"],
                level=options["level"],
                limit=options["limit"] or None,
                **common,
            )
        else:
            if not options.get("data"):
                raise CommandError("请用 --data 指定训练文件，或用 --from-cases 从工单训练")
            data = self._data(options)
            result = services.model_train(
                actor=None, task=task, name=options["name"] or task, data=data, **common
            )
        model = result.model
        if result.data.dropped:
            dropped = "、".join(f"{label}（{n}条）" for label, n in result.data.dropped.items())
            self._say(f"已去掉样本太少的类别：{dropped}")
        self.stdout.write(
            f"模型 {model.name} 版本 {model.version}（{Task(model.task).label}，{model.pipeline}）："
            f"{model.rows} 行，{len(model.labels)} 个类别；训练 {model.train_seconds:.1f} 秒"
            + (f"，交叉验证 {model.cv_seconds:.1f} 秒" if model.cv_seconds is not None else "")
            + f"，模型 {model.artifact_size / 1024:.0f} KB"
        )
        if result.cv is not None:
            self.stdout.write(f"{result.cv.folds} 折分层交叉验证：")
            self._print_metrics(result.cv.metrics)
        self.stdout.write(
            f"数据指纹 {model.data_fingerprint}"
            + (
                "；已启用"
                if result.activated
                else f"；未启用（启用：shizhi ai activate {model.name} --version {model.version}）"
            )
            + f"；共用时 {time.perf_counter() - started:.1f} 秒"
        )
        self._write_json(
            options["json"],
            {"model": {"id": model.pk, "name": model.name, "version": model.version}, **model.metrics},
        )

    def _evaluate(self, options: dict[str, Any]) -> None:
        model = sel.find_model(options["model"], version=options["version"])
        data = self._data(options)
        figures = sel.model_evaluate(model=model, data=data)
        self.stdout.write(f"模型 {model.name} 版本 {model.version} 在 {data.source} 上：")
        self._print_metrics(figures)
        if figures["unknown_labels"]:
            self.stdout.write(f"模型不认识的标签（全部计为错误）：{'、'.join(figures['unknown_labels'])}")
        self._write_json(options["json"], figures)

    def _predict(self, options: dict[str, Any]) -> None:
        from shizhi.ai import runtime

        model = sel.find_model(options["model"], version=options["version"])
        text = " ".join(options["text"])
        classifier = runtime.unpack(model)
        for label, probability in classifier.top(text, max(1, options["k"])):
            self.stdout.write(f"{label}\t{probability:.4f}")

    def _models(self, options: dict[str, Any]) -> None:
        qs = sel.models_qs().order_by("task", "name", "-version")
        if options["task"]:
            qs = qs.filter(task=options["task"])
        rows = list(qs)
        if not rows:
            self.stdout.write("模型库为空：先用 shizhi ai train 训练一个模型")
            return
        self.stdout.write(
            f"{'':1} {'task':<12} {'name':<24} {'ver':>3} {'macro-F1':>8} {'accuracy':>8} {'rows':>7}  trained at        pipeline"
        )
        for m in rows:
            f1 = f"{m.macro_f1:.4f}" if m.macro_f1 is not None else "-"
            acc = f"{m.accuracy:.4f}" if m.accuracy is not None else "-"
            self.stdout.write(
                f"{'*' if m.is_active else ' '} {m.task:<12} {m.name:<24} {m.version:>3} {f1:>8} {acc:>8} {m.rows:>7}  "
                f"{m.trained_at.astimezone().strftime('%Y-%m-%d %H:%M')}  {m.pipeline}"
            )
        self.stdout.write("* = 启用中")

    def _activate(self, options: dict[str, Any]) -> None:
        model = sel.find_model(options["name"], version=options["version"])
        was_active = model.is_active
        model = services.model_activate(actor=None, model=model)
        state = "本来就是启用中的版本" if was_active else "已启用"
        self.stdout.write(f"模型 {model.name} 版本 {model.version}（{Task(model.task).label}）{state}")

    def _compare(self, options: dict[str, Any]) -> None:
        from shizhi.ai.classifier import TextClassifier
        from shizhi.ai.evaluation import cross_validate
        from shizhi.ai.pipelines import spec_for

        names = [n.strip() for n in options["pipelines"].split(",") if n.strip()]
        unknown = [n for n in names if n not in CANDIDATES]
        if unknown:
            raise CommandError(f"未知的算法：{'、'.join(unknown)}；可选：{'、'.join(CANDIDATES)}")
        try:
            seeds = [int(s) for s in options["seeds"].split(",") if s.strip()]
        except ValueError as exc:
            raise CommandError("--seeds 须为逗号分隔的整数") from exc
        data = check_trainable(self._data(options), folds=options["folds"], drop_rare=options["drop_rare"])
        folds = options["folds"]
        results = []
        self.stdout.write(
            f"{len(data)} 行，{len(data.counts())} 个类别；{folds} 折分层交叉验证 × 种子 {','.join(map(str, seeds))}"
        )
        self.stdout.write(
            f"{'pipeline':<24} {'macro-F1':>8} {'per seed':<22} {'accuracy':>8} {'top-3':>6} {'CV s':>6} "
            f"{'fit s':>6} {'1 text ms':>9} {'texts/s':>8}"
        )
        for name in names:
            spec = spec_for(name)
            runs = [cross_validate(spec, data.texts, data.labels, folds=folds, seed=s) for s in seeds]
            started = time.perf_counter()
            model = TextClassifier(spec).fit(data.texts, data.labels, calibration_scores=runs[0].scores)
            fit_seconds = time.perf_counter() - started
            sample = data.texts[:200]
            model.top(sample[0])
            single = []
            for text in sample:
                t0 = time.perf_counter()
                model.top(text)
                single.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.predict_proba(data.texts)
            batch = len(data.texts) / (time.perf_counter() - t0)
            row = {
                "pipeline": name,
                "spec": spec,
                "macro_f1": round(statistics.mean(r.metrics["macro_f1"] for r in runs), 4),
                "macro_f1_per_seed": [r.metrics["macro_f1"] for r in runs],
                "accuracy": round(statistics.mean(r.metrics["accuracy"] for r in runs), 4),
                "top3_accuracy": round(statistics.mean(r.metrics["top3_accuracy"] for r in runs), 4),
                "cv_seconds": round(statistics.mean(r.seconds for r in runs), 1),
                "fit_seconds": round(fit_seconds, 2),
                "single_ms_p50": round(1000 * statistics.median(single), 3),
                "batch_texts_per_s": round(batch),
                "features": model.n_features,
            }
            results.append(row)
            per_seed = " ".join(f"{f:.4f}" for f in row["macro_f1_per_seed"])
            self.stdout.write(
                f"{name:<24} {row['macro_f1']:>8.4f} {per_seed:<22} {row['accuracy']:>8.4f} "
                f"{row['top3_accuracy']:>6.4f} {row['cv_seconds']:>6.1f} {row['fit_seconds']:>6.2f} "
                f"{row['single_ms_p50']:>9.3f} {row['batch_texts_per_s']:>8}"
            )
            self.stdout.flush()
        best = max(results, key=lambda r: r["macro_f1"])
        self.stdout.write(f"最佳：{best['pipeline']}（macro-F1 {best['macro_f1']:.4f}）")
        self._write_json(
            options["json"],
            {
                "rows": len(data),
                "labels": dict(data.counts()),
                "folds": folds,
                "seeds": seeds,
                "results": results,
            },
        )
