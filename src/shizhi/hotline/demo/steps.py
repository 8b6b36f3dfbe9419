"""One case's life in the demo year as a list of timed steps (受理, 派单, 签收, 办理, 答复, 回访 ...). Each step
changes the unsaved case and its assignments the way the workflow service of the same name does, and adds
the timeline entry. Steps after the demo's "now" do not happen: those cases are still open."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from shizhi.hotline.models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentStatus,
    Case,
    CaseStatus,
    Supervision,
    SupervisionKind,
)
from shizhi.hotline.services.history import BulkCase, EventRow
from shizhi.hotline.sla import month_of

A, S = AssignmentStatus, CaseStatus
Actor = tuple[int | None, str]  # (user id, label)
Step = tuple[dt.datetime, int, str | None, Callable[[], None]]  # (when, order, status it leads to, change)
SYSTEM: Actor = (None, "系统")


class Life:
    def __init__(self, case: Case) -> None:
        self.item = BulkCase(case=case)
        self.case = case
        self.steps: list[Step] = []
        # The first reply as planned, which merged duplicates follow (planned, so the order of runs is free).
        self.reply_at: dt.datetime | None = None
        self.reply_text = ""
        self.reply_on_time: bool | None = None
        self.reply_unit_id: int | None = None
        self.last = case.received_at
        self.seed: Any = None  # what it was planned from (demo.volume.Seed) and its place in the year
        self.index = -1
        self.issue = 0  # which of its topic's matters it raises
        self.master: Life | None = None  # a duplicate: the case it is merged into
        self.duplicates = 0  # a master: how many duplicates follow it

    def at(
        self, when: dt.datetime, status: str | None, fn: Callable[..., None], **kwargs: Any
    ) -> dt.datetime:
        """Plan a step (never before the previous one); returns its time."""
        when = max(when, self.last)
        self.last = when
        self.steps.append((when, len(self.steps), status, functools.partial(fn, self, when, **kwargs)))
        return when

    def insert(self, when: dt.datetime, fn: Callable[..., None], **kwargs: Any) -> None:
        """A step added by another case's life (a duplicate merged into this one), in time order."""
        step: Step = (when, len(self.steps), None, functools.partial(fn, self, when, **kwargs))
        bisect.insort(self.steps, step, key=lambda s: (s[0], s[1]))

    def status_at(self, when: dt.datetime) -> str:
        status: str = S.RECEIVED
        for at, _, s, _ in self.steps:
            if at > when:
                break
            status = s or status
        return status

    def run(self, end: dt.datetime, stop_status: str | None = None) -> None:
        for at, _, status, fn in self.steps:
            if at > end:
                break
            fn()
            self.case.updated_at = at
            if stop_status is not None and status == stop_status:
                break
        case = self.case
        if case.status in OPEN_STATUSES and case.due_at is not None:
            case.is_overdue = case.due_at < end
            case.is_due_soon = end <= case.due_at < end + dt.timedelta(hours=24)

    def event(
        self,
        action: str,
        when: dt.datetime,
        actor: Actor,
        status_from: str = "",
        note: str = "",
        unit_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> EventRow:
        event = EventRow(
            action=action,
            actor_id=actor[0],
            actor_label=actor[1],
            unit_id=unit_id,
            status_from=status_from,
            status_to=self.case.status,
            note=note,
            data=data or {},
            created_at=when,
        )
        self.item.events.append(event)
        return event

    def move(self, status: str) -> str:
        before, self.case.status = self.case.status, status
        return before


def create(life: Life, when: dt.datetime, actor: Actor, note: str) -> None:
    life.event("create", when, actor, note=note)


def answer_directly(life: Life, when: dt.datetime, actor: Actor, reply: str, article_id: int | None) -> None:
    c = life.case
    before = life.move(S.REPLIED)
    c.reply, c.replied_at, c.replied_on_time, c.knowledge_article_id = reply, when, True, article_id
    life.event("answer_directly", when, actor, before, reply, data={"article": article_id})


def dispatch(
    life: Life,
    when: dt.datetime,
    actor: Actor,
    assignments: list[Assignment],
    due: dt.datetime,
    feedback_due: dt.datetime | None,
) -> None:
    c, lead = life.case, assignments[0]
    before = life.move(S.DISPATCHED)
    c.lead_unit_id, c.dispatched_at, c.due_at, c.feedback_due_at = lead.unit_id, when, due, feedback_due
    life.item.assignments.extend(assignments)
    data = {"lead": lead.unit_id, "assist": [a.unit_id for a in assignments[1:]], "due_at": due.isoformat()}
    life.event("dispatch", when, actor, before, unit_id=lead.unit_id, data=data)


def return_case(life: Life, when: dt.datetime, actor: Actor, assignment: Assignment, reason: str) -> None:
    assignment.status, assignment.returned_at, assignment.return_reason = A.RETURNED, when, reason
    before = life.move(S.RETURNED)
    life.event("return", when, actor, before, reason, assignment.unit_id, {"role": assignment.role})


def review_return(
    life: Life,
    when: dt.datetime,
    actor: Actor,
    returned: Assignment,
    new: Assignment | None,
    due: dt.datetime,
) -> None:
    c = life.case
    before = life.move(S.DISPATCHED)
    if new is not None:  # approved: the wrong dispatch leaves the response rate
        returned.status = A.WITHDRAWN
        life.item.assignments.append(new)
        c.lead_unit_id, c.dispatched_at, c.due_at = new.unit_id, when, due
    else:
        returned.status = A.DISPATCHED
    action = "approve_return" if new is not None else "reject_return"
    note = "" if new is not None else "经审核，该事项属于你单位职责，请继续办理"
    data = {"returned_unit": returned.unit_id, "new_unit": new.unit_id if new is not None else None}
    life.event(action, when, actor, before, note, c.lead_unit_id, data)


def accept(life: Life, when: dt.datetime, actor: Actor, assignment: Assignment) -> None:
    before = life.case.status
    if assignment.role == "lead":
        life.move(S.ACCEPTED)
    assignment.status, assignment.accepted_at, assignment.handler_id = A.ACCEPTED, when, actor[0]
    if assignment.accepted_on_time is None:
        assignment.accepted_on_time = when <= assignment.accept_due_at
    data = {"role": assignment.role, "on_time": assignment.accepted_on_time}
    life.event("accept", when, actor, before, unit_id=assignment.unit_id, data=data)


def start(life: Life, when: dt.datetime, actor: Actor) -> None:
    before = life.move(S.IN_PROGRESS)
    life.event("start", when, actor, before, unit_id=life.case.lead_unit_id)


def assist_note(life: Life, when: dt.datetime, actor: Actor, assignment: Assignment, note: str) -> None:
    assignment.status, assignment.note, assignment.done_at = A.DONE, note, when
    life.event("assist_note", when, actor, note=note, unit_id=assignment.unit_id)


def overdue(life: Life, when: dt.datetime) -> None:
    c = life.case
    c.is_overdue = True
    note = "超过办理期限，系统自动督办"
    life.item.supervisions.append(
        Supervision(kind=SupervisionKind.OVERDUE, note=note, unit_id=c.lead_unit_id, created_at=when)
    )
    life.event("sla_overdue", when, SYSTEM, c.status, note, c.lead_unit_id)


def reply(life: Life, when: dt.datetime, actor: Actor, assignment: Assignment, text: str) -> None:
    c = life.case
    before = life.move(S.REPLIED)
    c.reply, c.replied_at = text, when
    c.replied_on_time = c.due_at is None or when <= c.due_at
    assignment.status, assignment.done_at = A.DONE, when
    for sup in life.item.supervisions:
        sup.resolved_at = sup.resolved_at or when
    life.event("reply", when, actor, before, text, assignment.unit_id, {"on_time": c.replied_on_time})


def callback(
    life: Life,
    when: dt.datetime,
    actor: Actor,
    solved: bool | None,
    satisfaction: int | None,
    note: str,
) -> None:
    c = life.case
    before = life.move(S.CLOSED)
    if satisfaction is not None:
        c.solved, c.satisfaction, c.satisfied = solved, satisfaction, satisfaction >= 4
        c.rated_at, c.rated_month = when, month_of(when)
    c.closed_at, c.callback_note = when, note
    data = {
        "reached": satisfaction is not None,
        "solved": solved,
        "satisfaction": satisfaction,
        "by_citizen": False,
    }
    life.event("callback", when, actor, before, note, data=data)


def reopen(
    life: Life, when: dt.datetime, actor: Actor, assignment: Assignment, due: dt.datetime, reason: str
) -> None:
    c = life.case
    previous = {
        "solved": c.solved,
        "satisfaction": c.satisfaction,
        "rated_at": c.rated_at.isoformat() if c.rated_at else None,
    }
    before = life.move(S.DISPATCHED)
    life.item.assignments.append(assignment)
    c.dispatched_at, c.due_at, c.reopen_count = when, due, c.reopen_count + 1
    c.solved = c.satisfaction = c.satisfied = c.rated_at = c.rated_month = None
    c.replied_at = c.replied_on_time = c.closed_at = None
    c.is_overdue = c.is_due_soon = False
    life.event("reopen", when, actor, before, reason, c.lead_unit_id, {"previous": previous})


def merge(life: Life, when: dt.datetime, actor: Actor, master: Life) -> None:
    """The duplicate's side; numbers are filled in once they are allocated (see ``demo.year.fill_numbers``)."""
    c = life.case
    before = life.move(S.MERGED)
    c.lead_unit_id = master.reply_unit_id if master.status_at(when) != S.RECEIVED else None
    life.event("merge", when, actor, before, "同一事项重复反映，合并办理", data={"master": master})


def merged_into(life: Life, when: dt.datetime, actor: Actor, duplicate: Life) -> None:
    """The master's side of a merge."""
    life.event("merge", when, actor, note="同一事项重复反映，合并办理", data={"duplicate": duplicate})


def follow(life: Life, when: dt.datetime, master: Life) -> None:
    c = life.case
    before = life.move(S.REPLIED)
    c.reply, c.replied_at, c.replied_on_time = master.reply_text, when, master.reply_on_time
    c.lead_unit_id = master.reply_unit_id
    life.event("merged_follow", when, SYSTEM, before, data={"master": master})
