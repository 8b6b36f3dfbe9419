"""The demo city's hotline taxonomy (演示诉求分类): 13 first-level categories and their subcategories (81 in
all), each leaf a :class:`~shizhi.hotline.demo.topic.Topic` with its share of the year's cases, its season,
who handles it (the dispatch catalogue, 派单目录), the matters citizens raise and the policy basis of replies.

Time-limit classes follow the import rule (:func:`shizhi.hotline.importers.sla_kind_for`): names with 供水,
供电, 燃气, 供暖, 停水, 停电 are water/power/gas/heating (24 hours); children inherit it."""

from __future__ import annotations

from shizhi.hotline.demo import topics_city, topics_people
from shizhi.hotline.demo.topic import DEMAND_PROFILES, SEASONS, STREET, Issue, Topic

TOPICS: tuple[Topic, ...] = (*topics_city.TOPICS, *topics_people.TOPICS)

__all__ = ["DEMAND_PROFILES", "SEASONS", "STREET", "TOPICS", "Issue", "Topic", "topic_paths"]


def topic_paths() -> list[tuple[str, ...]]:
    """Every node of the taxonomy, parents first, in the order the topics list them."""
    paths: list[tuple[str, ...]] = []
    for topic in TOPICS:
        for depth in range(1, len(topic.path) + 1):
            if topic.path[:depth] not in paths:
                paths.append(topic.path[:depth])
    return paths
