"""Datasets that ``shizhi seed <name>`` can create. The demo city is built in; a later module adds its own
with :func:`register` (from its ``AppConfig.ready``), e.g. ``shizhi seed onething``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SeedOptions:
    scale: str
    seed: int
    messages: str | None = None  # a folder of real citizen messages (e.g. ../shared/data/teddy2020)
    air: str | None = None  # Beijing air-quality station files (e.g. ../shared/data/beijing_air)


@dataclass(frozen=True)
class SeedOutcome:
    created: bool  # False: the data was already there and nothing changed
    text: str  # what to print: a summary, or why nothing was done


@dataclass(frozen=True)
class Dataset:
    name: str
    help: str
    run: Callable[[SeedOptions], SeedOutcome]
    scales: tuple[str, ...] = ("small", "city")


# What later modules add to the demo city (the hotline's year of cases, ...), run in order after it.
DEMO_EXTENSIONS: list[Callable[[SeedOptions], SeedOutcome]] = []


def extend_demo(step: Callable[[SeedOptions], SeedOutcome]) -> None:
    """Let a module add its part to ``shizhi seed demo`` (called from its AppConfig.ready)."""
    if step not in DEMO_EXTENSIONS:
        DEMO_EXTENSIONS.append(step)


def _demo(options: SeedOptions) -> SeedOutcome:
    from django.db import transaction

    from shizhi.demo.clock import demo_clock, demo_now
    from shizhi.demo.services import demo_logins, format_logins, seed_demo

    # All or nothing, extensions included; every step stamps its rows with the demo's "now".
    with transaction.atomic(), demo_clock(demo_now()):
        report = seed_demo(scale=options.scale, seed=options.seed)
        parts = [report.summary()]
        created = report.created
        for step in DEMO_EXTENSIONS:
            outcome = step(options)
            parts.append(outcome.text)
            created = created or outcome.created
    return SeedOutcome(created=created, text="\n\n".join([*parts, format_logins(demo_logins())]))


DATASETS: dict[str, Dataset] = {
    "demo": Dataset(
        "demo", "演示城市“临江市”：区县、街道乡镇、社区村、网格、承办单位和各角色的演示账号", _demo
    ),
}


def register(dataset: Dataset) -> None:
    if dataset.name in DATASETS:
        raise ValueError(f"seed dataset {dataset.name!r} is already registered")
    DATASETS[dataset.name] = dataset
