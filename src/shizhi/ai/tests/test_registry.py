"""The model registry (模型库): versions per name, one active model per task, activation and roll-back (audited),
``suggest`` following the active version at once in this process and within the TTL in others, and stored
models that fail their SHA-256 check never loaded."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from shizhi.ai import runtime, services
from shizhi.ai import selectors as sel
from shizhi.ai.classifier import ArtifactError
from shizhi.ai.models import TrainedModel
from shizhi.ai.tests.factories import HELD_OUT, english_labels, train
from shizhi.core.errors import ApplicationError, ErrorCode
from shizhi.core.models import AuditEvent

pytestmark = pytest.mark.django_db

WATER = "家里水龙头一滴水都没有，自来水公司也没通知停水"


def first(task: str = "category", text: str = WATER) -> str | None:
    found = services.suggest(text, tasks=(task,))[task]
    return found[0][0] if found else None


def test_versions_and_the_first_model_of_a_task_becomes_active() -> None:
    v1 = train().model
    v2 = train(data=english_labels()).model
    assert (v1.name, v1.version, v2.version) == ("msg", 1, 2)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.is_active and v1.activated_at is not None
    assert not v2.is_active  # a new version waits for activation (or --activate)
    v3 = train(data=english_labels(), activate=True).model
    assert v3.version == 3 and v3.is_active
    assert list(TrainedModel.objects.filter(is_active=True).values_list("version", flat=True)) == [3]
    other = train(name="types", task="demand_type").model
    assert other.version == 1 and other.is_active  # another task has its own active model


def test_activation_switches_suggestions_at_once_and_rolls_back() -> None:
    assert services.suggest(WATER) == {"category": [], "unit": [], "demand_type": []}
    v1 = train().model
    v2 = train(data=english_labels()).model
    assert first() == "供水"
    before = AuditEvent.objects.filter(action="ai.model_activate").count()
    services.model_activate(actor=None, model=v2)
    assert first() == "water"
    services.model_activate(actor=None, model=v1)  # roll back
    assert first() == "供水"
    events = AuditEvent.objects.filter(action="ai.model_activate").order_by("id")
    assert events.count() == before + 2
    assert events.last().changes["active_model"] == ["msg v2", "msg v1"]  # type: ignore[union-attr]
    services.model_activate(actor=None, model=v1)  # already active: nothing changes, nothing recorded
    assert events.count() == before + 2


def test_another_process_switching_is_seen_after_the_ttl(monkeypatch: Any) -> None:
    v1 = train().model
    v2 = train(data=english_labels()).model
    assert first() == "供水"
    with transaction.atomic():  # what another process's activation leaves in the database
        TrainedModel.objects.filter(pk=v1.pk).update(is_active=False)
        TrainedModel.objects.filter(pk=v2.pk).update(is_active=True)
    assert first() == "供水"  # still cached
    monkeypatch.setattr(runtime, "ACTIVE_TTL", 0.0)
    assert first() == "water"


def test_one_active_model_per_task_is_a_database_rule() -> None:
    train()
    v2 = train(data=english_labels()).model
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainedModel.objects.filter(pk=v2.pk).update(is_active=True)


def test_suggest_gives_top_k_per_task_best_first() -> None:
    train()
    found = services.suggest(WATER, k=2)
    assert found["category"][0][0] == "供水" and len(found["category"]) == 2
    assert found["unit"] == [] and found["demand_type"] == []
    assert services.suggest("   ", tasks=("category",)) == {"category": []}
    for text, label in HELD_OUT.items():
        assert first(text=text) == label
    with pytest.raises(ApplicationError, match="未知的任务"):
        services.suggest(WATER, tasks=("weather",))


def test_a_tampered_artifact_is_never_loaded(caplog: Any) -> None:
    model = train().model
    data = bytearray(bytes(model.artifact))
    data[-10] ^= 0xFF
    TrainedModel.objects.filter(pk=model.pk).update(artifact=bytes(data))
    model.refresh_from_db()
    with pytest.raises(ArtifactError, match="SHA-256"):
        runtime.unpack(model)
    assert services.suggest(WATER) == {"category": [], "unit": [], "demand_type": []}
    assert "cannot load the active category model" in caplog.text


def test_find_model_by_name_version_and_latest() -> None:
    v1 = train().model
    v2 = train(data=english_labels()).model
    other = train(name="other", data=english_labels()).model  # category task: not active, v1 is
    assert sel.find_model("msg").pk == v1.pk  # the active version of the name
    assert sel.find_model("msg", version=2).pk == v2.pk
    assert sel.find_model("other").pk == other.pk  # none active: the newest
    assert sel.find_model("latest").pk == other.pk
    with pytest.raises(ApplicationError) as info:
        sel.find_model("missing")
    assert info.value.code == ErrorCode.NOT_FOUND
    assert info.value.details["available"] == ["msg", "other"]
    with pytest.raises(ApplicationError, match="版本 7"):
        sel.find_model("msg", version=7)
