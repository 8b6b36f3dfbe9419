"""``shizhi seed <dataset> [--scale small|city] [--seed N]``: create a named dataset (only ``demo`` for now)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shizhi.core.context import change_context
from shizhi.core.errors import ApplicationError
from shizhi.demo.registry import DATASETS, SeedOptions


class Command(BaseCommand):
    help = "生成示范数据（shizhi seed demo [--scale small|city] [--seed N]）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", help="数据集名称: " + ", ".join(sorted(DATASETS)))
        parser.add_argument("--scale", default="city", help="规模: small（测试用）或 city（演示用，默认）")
        parser.add_argument(
            "--seed", type=int, default=1, help="随机种子（默认 1）；相同的种子生成相同的数据"
        )
        parser.add_argument(
            "--messages",
            default=None,
            help="真实市民留言所在目录（如 ../shared/data/teddy2020），代替生成的留言",
        )
        parser.add_argument(
            "--air",
            default=None,
            help="北京空气质量数据所在目录（如 ../shared/data/beijing_air），代替合成的空气质量读数",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["dataset"]
        dataset = DATASETS.get(name)
        if dataset is None:
            raise CommandError(f"未知的数据集“{name}”，可选: {', '.join(sorted(DATASETS))}")
        scale = options["scale"]
        if scale not in dataset.scales:
            raise CommandError(f"数据集“{name}”没有规模“{scale}”，可选: {', '.join(dataset.scales)}")
        try:
            with change_context(origin="cli"):
                outcome = dataset.run(
                    SeedOptions(
                        scale=scale, seed=options["seed"], messages=options["messages"], air=options["air"]
                    )
                )
        except ApplicationError as exc:
            raise CommandError(f"生成失败，未做任何改动: {exc.message} {exc.details or ''}".rstrip()) from exc
        self.stdout.write(outcome.text)
