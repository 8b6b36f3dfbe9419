"""The SLA sweep (时限监控): marks open cases due soon or overdue and raises overdue supervision. Idempotent:
run it every few minutes (``shizhi hotline sweep --every 300``) or from a Celery beat in production."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from shizhi.core.audit import audit_record
from shizhi.hotline.models import OPEN_STATUSES, Case, CaseEvent, CaseStatus, Supervision, SupervisionKind
from shizhi.hotline.sla import sla_setting

# Cases a unit holds: the clock runs from dispatch to reply.
CLOCKED = [s for s in OPEN_STATUSES if s != CaseStatus.RECEIVED]


@dataclass
class SweepResult:
    newly_overdue: int
    due_soon: int
    supervisions: int


@transaction.atomic
def sla_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    soon = now + dt.timedelta(hours=sla_setting("due_soon_hours"))
    open_cases = Case.objects.filter(status__in=CLOCKED, due_at__isnull=False)
    overdue_ids = list(open_cases.filter(due_at__lt=now, is_overdue=False).values_list("id", flat=True))
    Case.objects.filter(pk__in=overdue_ids).update(is_overdue=True, is_due_soon=False, updated_at=now)
    open_cases.filter(due_at__gte=now, due_at__lt=soon, is_due_soon=False).update(is_due_soon=True)
    due_soon = open_cases.filter(is_due_soon=True).count()
    # One open overdue supervision per case; the partial unique constraint makes reruns harmless.
    have = set(
        Supervision.objects.filter(
            case_id__in=overdue_ids, kind=SupervisionKind.OVERDUE, resolved_at__isnull=True
        ).values_list("case_id", flat=True)
    )
    cases = list(
        Case.objects.filter(pk__in=[i for i in overdue_ids if i not in have]).only(
            "id", "lead_unit_id", "status"
        )
    )
    Supervision.objects.bulk_create(
        [
            Supervision(
                case_id=c.pk,
                kind=SupervisionKind.OVERDUE,
                unit_id=c.lead_unit_id,
                note="超过办理期限，系统自动督办",
                created_at=now,
            )
            for c in cases
        ],
        ignore_conflicts=True,
    )
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case_id=c.pk,
                action="sla_overdue",
                actor_label="系统",
                unit_id=c.lead_unit_id,
                status_from=c.status,
                status_to=c.status,
                note="超过办理期限，系统自动督办",
                created_at=now,
            )
            for c in cases
        ]
    )
    if overdue_ids:
        audit_record(
            actor=None,
            action="case.sla_sweep",
            object_type="hotline.case",
            changes={"newly_overdue": len(overdue_ids), "supervisions": len(cases)},
        )
    return SweepResult(newly_overdue=len(overdue_ids), due_soon=due_soon, supervisions=len(cases))
