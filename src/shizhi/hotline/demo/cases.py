"""Each demo case's life (演示工单), planned in memory: :mod:`.volume` says when, what and where, :mod:`.year`
puts the year together, the bulk writer writes it. Each case lives through the workflow with realistic odds:
most dispatched by the catalogue and accepted in time (some late), some wrongly dispatched, returned and
re-dispatched, some replies overdue, callbacks mostly 4-5 of 5, some unsatisfied and reopened, inquiries
answered at once from the knowledge base; the demo's "now" is the evening before the day it is seeded, so the last weeks' cases are
still open. One ``random.Random`` per case, derived from the seed, makes the same seed give the same rows."""

from __future__ import annotations

import datetime as dt
import random

from shizhi.hotline import messages
from shizhi.hotline.demo import steps as st
from shizhi.hotline.demo import volume
from shizhi.hotline.demo.clock import Clock
from shizhi.hotline.demo.steps import Actor, Life
from shizhi.hotline.demo.taxonomy import STREET, Topic
from shizhi.hotline.demo.volume import Seed
from shizhi.hotline.demo.world import UnitInfo, World, rule_unit
from shizhi.hotline.models import Assignment, Case, CaseStatus, Channel, SlaKind, Urgency
from shizhi.hotline.sla import month_of

S = CaseStatus
SIZES = {"small": 300, "city": 50_000}
# The callback's 1-5 by the quality of the reply.
SATISFACTION = {"good": (2, 2, 5, 20, 71), "explain": (10, 12, 23, 25, 30), "weak": (22, 15, 23, 20, 20)}
SOLVED = {5: 0.97, 4: 0.9, 3: 0.55, 2: 0.2, 1: 0.1}


def _minutes(rng: random.Random, low: float, high: float) -> dt.timedelta:
    return dt.timedelta(minutes=rng.uniform(low, high))


class Year:
    def __init__(self, world: World, *, size: int, seed: int, end: dt.datetime) -> None:
        self.world, self.size, self.seed = world, size, seed
        self.rng = random.Random(seed)
        self.clock = Clock()
        tz = self.clock.tz
        # The twelve months up to the demo's "now": the same seed and the same end give the same rows.
        self.end = end.astimezone(tz)
        self.start = (self.end - dt.timedelta(days=365)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.mobiles: set[str] = set()
        unit_rng = random.Random(f"{seed}:units")
        # Each unit's habits: how often it accepts in time and replies late.
        self.quality = {
            u.id: (unit_rng.uniform(0.84, 0.98), unit_rng.uniform(0.03, 0.12)) for u in self._all_units()
        }

    def _all_units(self) -> list[UnitInfo]:
        if not hasattr(self, "_units"):
            w = self.world
            seen = {
                u.id: u for u in [*w.units.values(), *w.street_units.values(), *w.district_units.values()]
            }
            self._units = [seen[k] for k in sorted(seen)]
            self._with_handlers = [u for u in self._units if u.handlers]
        return self._units

    # ---------------------------------------------------------------------------------------- volume

    def seeds(self) -> list[Seed]:
        return volume.seeds(self.world, self.clock, self.rng, start=self.start, end=self.end, size=self.size)

    # ---------------------------------------------------------------------------------------- one case

    def new_case(self, seed: Seed, rng: random.Random, *, like: Life | None = None) -> Life:
        """The case as received (its message, citizen and place); ``like``: the report it repeats."""
        w, topic, spot = self.world, seed.topic, seed.spot
        category_id, category_path, sla_kind = w.categories[topic.path]
        district, street, community = spot.names
        place = messages.make_place(
            rng, district=district, street=street, community=community, rural=spot.rural
        )
        pool = w.pools.get(topic.path)
        if pool:
            title, content = rng.choice(pool)
            issue = rng.randrange(len(topic.issues))
        else:
            same = like.issue if like is not None else None
            title, content, issue = messages.citizen_message(
                rng, topic, place, seed.at.date(), seed.demand, same
            )
        urgent = topic.path[-1] in ("燃气", "积水内涝") and rng.random() < 0.15
        citizen_id, name, phone, anonymous = None, "", "", rng.random() < 0.04
        if not anonymous:
            if seed.channel in ("app", "wechat") and w.citizens and rng.random() < 0.03:
                citizen_id, name, phone = w.citizens[rng.randrange(len(w.citizens))]
            else:
                from shizhi.demo.names import person_name
                from shizhi.demo.units import mobile

                name, phone = person_name(rng), mobile(rng, self.mobiles)
        (x0, y0), ring = spot.center, spot.ring
        k = rng.randrange(max(len(ring) - 1, 1))
        (x1, y1), (x2, y2) = ring[k], ring[(k + 1) % len(ring)]
        a, b = sorted((rng.random(), rng.random()))  # a uniform point of the triangle (centre, v_k, v_k+1)
        lng, lat = x0 + a * (x1 - x0) + (b - a) * (x2 - x0), y0 + a * (y1 - y0) + (b - a) * (y2 - y0)
        if seed.channel in ("phone",):
            created_by = w.operators[rng.randrange(len(w.operators))][0] if w.operators else None
        elif seed.channel == "grid" and spot.worker:
            created_by = spot.worker[0]
        else:
            created_by = None
        case = Case(
            channel=seed.channel,
            demand_type=seed.demand,
            category_id=category_id,
            category_path=category_path,
            title=like.case.title if like is not None and rng.random() < 0.3 else title,
            content=content,
            citizen_name=name,
            citizen_phone=phone,
            citizen_id=citizen_id,
            anonymous=anonymous,
            address=place.address[:200],
            lng=round(lng, 6),
            lat=round(lat, 6),
            grid_id=spot.id,
            community_id=spot.community_id,
            street_id=spot.street_id,
            district_id=spot.district_id,
            area_path=spot.area_path,
            urgency=Urgency.URGENT if urgent else Urgency.NORMAL,
            sla_kind=SlaKind.EMERGENCY if urgent else sla_kind,
            status=S.RECEIVED,
            created_by_id=created_by,
            received_at=seed.at,
            received_month=month_of(seed.at),
            updated_at=seed.at,
        )
        life = Life(case)
        life.issue = issue
        return life

    def _pick(self, rng: random.Random, actors: list[Actor]) -> Actor:
        return actors[rng.randrange(len(actors))] if actors else st.SYSTEM

    def _assignment(self, unit: UnitInfo, role: str, when: dt.datetime, urgent: bool) -> Assignment:
        return Assignment(
            unit_id=unit.id,
            role=role,
            dispatched_at=when,
            dispatched_month=month_of(when),
            accept_due_at=self.clock.accept_due(when, urgent=urgent),
        )

    def plan(self, seed: Seed, index: int, *, force_return: bool = False) -> Life:
        rng = random.Random(f"{self.seed}:{index}")
        life = self.new_case(seed, rng)
        life.seed, life.index = seed, index
        case, topic, w = life.case, seed.topic, self.world
        operator = self._pick(rng, w.operators)
        life.at(seed.at, S.RECEIVED, st.create, actor=operator, note=f"{Channel(case.channel).label}受理")
        articles = w.articles.get(topic.path, [])
        if case.demand_type == "praise" or (
            case.demand_type == "inquiry" and articles and rng.random() < 0.7
        ):
            article = (
                articles[rng.randrange(len(articles))] if articles and case.demand_type == "inquiry" else None
            )
            text = messages.direct_answer(article[1]) if article else messages.PRAISE_REPLY
            at = life.at(
                seed.at + _minutes(rng, 3, 15),
                S.REPLIED,
                st.answer_directly,
                actor=operator,
                reply=text,
                article_id=article[0] if article else None,
            )
            self._callback(life, rng, at, "good", praise=article is None, final=True)
            return life
        right = rule_unit(w, topic, seed.spot)
        if right is None:
            right = w.district_units.get(seed.spot.district_id) or next(iter(w.units.values()))
        self._handle(life, rng, topic, right, force_return=force_return)
        return life

    def _handle(
        self, life: Life, rng: random.Random, topic: Topic, right: UnitInfo, *, force_return: bool
    ) -> None:
        case, clock, w = life.case, self.clock, self.world
        urgent = case.urgency == Urgency.URGENT
        dispatcher = self._pick(rng, w.dispatchers)
        fast = urgent or case.sla_kind == SlaKind.UTILITY
        d_at = case.received_at + _minutes(rng, 5, 30 if fast else 90)
        if not fast:
            moved = clock.office_time(d_at, first=8, last=21)
            d_at = moved + _minutes(rng, 0, 60) if moved != clock.local(d_at) else d_at
        self._all_units()
        wrong = len(self._with_handlers) > 1 and (force_return or rng.random() < 0.04)
        first = right
        while wrong and first.id == right.id:
            first = self._with_handlers[rng.randrange(len(self._with_handlers))]
        lead = self._assignment(first, "lead", d_at, urgent)
        assists = []
        if topic.to == STREET and "dept-cgj" in w.units and rng.random() < 0.06:
            assists = [self._assignment(w.units["dept-cgj"], "assist", d_at, urgent)]
        due = clock.handling_due(d_at, case.sla_kind)
        feedback = d_at + dt.timedelta(hours=clock.emergency_hours) if urgent else None
        life.at(
            d_at,
            S.DISPATCHED,
            st.dispatch,
            actor=dispatcher,
            assignments=[lead, *assists],
            due=due,
            feedback_due=feedback,
        )
        unit = first
        if wrong:
            handler = self._pick(rng, first.handlers)
            r_at = clock.add_working_hours(d_at, rng.uniform(0.2, 3))
            life.at(
                r_at,
                S.RETURNED,
                st.return_case,
                actor=handler,
                assignment=lead,
                reason=messages.return_reason(rng, first.name),
            )
            v_at = clock.office_time(r_at + _minutes(rng, 20, 180), first=8, last=21)
            if rng.random() < 0.85:
                new, unit, d_at = self._assignment(right, "lead", v_at, urgent), right, v_at
                due = clock.handling_due(v_at, case.sla_kind)
                life.at(
                    v_at, S.DISPATCHED, st.review_return, actor=dispatcher, returned=lead, new=new, due=due
                )
                lead = new
            else:
                life.at(
                    v_at, S.DISPATCHED, st.review_return, actor=dispatcher, returned=lead, new=None, due=due
                )
        on_time_p, late_p = self.quality[unit.id]
        handler = self._pick(rng, unit.handlers)
        acc = self._accept_time(rng, lead, on_time_p)
        helpers = [(self._accept_time(rng, a, self.quality[a.unit_id][0]), a) for a in assists]
        for at, a in sorted(helpers, key=lambda h: h[0]):
            if at < acc:  # an assisting unit may accept before the lead unit
                life.at(
                    at, None, st.accept, actor=self._pick(rng, w.units["dept-cgj"].handlers), assignment=a
                )
        acc = life.at(acc, S.ACCEPTED, st.accept, actor=handler, assignment=lead)
        for at, a in helpers:
            if at >= acc:
                life.at(
                    at, None, st.accept, actor=self._pick(rng, w.units["dept-cgj"].handlers), assignment=a
                )
        started = life.at(acc + _minutes(rng, 5, 240), S.IN_PROGRESS, st.start, actor=handler)
        for a in assists:
            life.at(
                started + _minutes(rng, 60, 600),
                None,
                st.assist_note,
                actor=self._pick(rng, w.units["dept-cgj"].handlers),
                assignment=a,
                note="已派执法队员到场配合处置，现场问题已处理完毕。",
            )
        rep = self._reply_time(
            rng, life.last, due, late=rng.random() < late_p, utility=case.sla_kind != SlaKind.GENERAL
        )
        if rep > due:
            life.at(due + dt.timedelta(minutes=5), None, st.overdue)
        quality = rng.choices(("good", "explain", "weak"), (85, 6 if topic.refusal else 0, 10))[0]
        responder = messages.Responder(unit.name, unit.phone, unit.contact, handler[1])
        text = messages.reply_text(
            rng,
            topic=topic,
            issue=topic.issues[life.issue],
            title=case.title,
            received=clock.local(case.received_at).date(),
            replied=clock.local(rep),
            responder=responder,
            quality=quality,
        )
        rep = life.at(rep, S.REPLIED, st.reply, actor=handler, assignment=lead, text=text)
        if life.reply_at is None:
            life.reply_at, life.reply_text, life.reply_on_time, life.reply_unit_id = (
                rep,
                text,
                rep <= due,
                unit.id,
            )
        reopened = self._callback(life, rng, rep, quality)
        if reopened is not None and case.reopen_count == 0:
            again = self._assignment(unit, "lead", reopened, urgent)
            due = clock.handling_due(reopened, case.sla_kind)
            life.at(
                reopened,
                S.DISPATCHED,
                st.reopen,
                actor=self._pick(rng, w.operators),
                assignment=again,
                due=due,
                reason="回访不满意，问题未解决，重新交办",
            )
            acc = life.at(
                self._accept_time(rng, again, on_time_p),
                S.ACCEPTED,
                st.accept,
                actor=handler,
                assignment=again,
            )
            life.at(acc + _minutes(rng, 5, 120), S.IN_PROGRESS, st.start, actor=handler)
            rep = self._reply_time(rng, life.last, due, late=False, utility=case.sla_kind != SlaKind.GENERAL)
            text = messages.reply_text(
                rng,
                topic=topic,
                issue=topic.issues[life.issue],
                title=case.title,
                received=clock.local(case.received_at).date(),
                replied=clock.local(rep),
                responder=responder,
                quality="good",
            )
            rep = life.at(rep, S.REPLIED, st.reply, actor=handler, assignment=again, text=text)
            self._callback(life, rng, rep, "good", final=True)

    def _accept_time(self, rng: random.Random, a: Assignment, on_time_p: float) -> dt.datetime:
        if rng.random() < on_time_p:
            return a.dispatched_at + (a.accept_due_at - a.dispatched_at) * rng.random() ** 2
        return self.clock.add_working_hours(a.accept_due_at, rng.uniform(0.2, 8))

    def _reply_time(
        self, rng: random.Random, after: dt.datetime, due: dt.datetime, *, late: bool, utility: bool
    ) -> dt.datetime:
        if late:
            return self.clock.office_time(due + _minutes(rng, 120, 7200), first=8, last=21)
        at = after + (due - after) * (rng.random() ** 1.5 * 0.85)
        if not utility:
            at = self.clock.office_time(at, first=8, last=21)
            if at > due:
                at = due - _minutes(rng, 5, 120)
        return max(at, after + dt.timedelta(minutes=10))

    def _callback(
        self,
        life: Life,
        rng: random.Random,
        after: dt.datetime,
        quality: str,
        *,
        praise: bool = False,
        final: bool = False,
    ) -> dt.datetime | None:
        """Plan the callback; returns when the case is reopened, if it is."""
        at = self.clock.office_time(after + _minutes(rng, 240, 3600), first=9, last=20)
        operator = self._pick(rng, self.world.operators)
        if praise:
            life.at(
                at,
                S.CLOSED,
                st.callback,
                actor=operator,
                solved=None,
                satisfaction=None,
                note="表扬类诉求，无需回访",
            )
            return None
        if rng.random() > 0.88:
            life.at(
                at,
                S.CLOSED,
                st.callback,
                actor=operator,
                solved=None,
                satisfaction=None,
                note=messages.callback_note(rng, None, None),
            )
            return None
        sat = rng.choices((1, 2, 3, 4, 5), SATISFACTION[quality])[0]
        solved = rng.random() < SOLVED[sat]
        at = life.at(
            at,
            S.CLOSED,
            st.callback,
            actor=operator,
            solved=solved,
            satisfaction=sat,
            note=messages.callback_note(rng, sat, solved),
        )
        if not final and sat <= 2 and not solved and rng.random() < 0.6:
            return at + _minutes(rng, 30, 240)
        return None
