"""``shizhi hotline sweep [--every SECONDS]``: the SLA sweep (时限监控) — marks due-soon and overdue cases and
raises overdue supervision. Run it from cron, or let it loop with --every."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shizhi.core.context import change_context
from shizhi.hotline.services import sla_sweep


class Command(BaseCommand):
    help = "接诉即办后台任务：sweep 标记即将超期、已超期工单并自动督办"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sweep = sub.add_parser("sweep", help="mark due-soon/overdue cases and raise overdue supervision")
        sweep.add_argument("--every", type=int, default=0, help="repeat every N seconds (0: once)")

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        while True:
            with change_context(origin="task"):
                result = sla_sweep()
            self.stdout.write(
                f"新超期 {result.newly_overdue} 件，即将超期 {result.due_soon} 件，新增督办 {result.supervisions} 件"
            )
            if every <= 0:
                return
            time.sleep(every)
