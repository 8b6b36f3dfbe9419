"""A label with a single example leaves no internal split to calibrate on: the model trains with the plain
scale instead of failing (``shizhi ai train --folds 0`` on a city's cases, as the demo does)."""

import numpy as np

from shizhi.ai.classifier import TextClassifier, fit_scale
from shizhi.ai.pipelines import spec_for
from shizhi.ai.services import DEFAULT_PIPELINE
from shizhi.ai.tests.factories import HELD_OUT, messages


def test_no_calibration_rows_means_the_plain_scale() -> None:
    assert fit_scale(np.zeros((0, 3)), np.array([0, 1, 2])) == 1.0


def test_a_label_with_one_example_trains_without_calibration_split() -> None:
    data = messages()
    texts, labels = [*data.texts, "食堂饭菜不卫生，吃了以后肚子疼"], [*data.labels, "食品"]
    model = TextClassifier(spec_for(DEFAULT_PIPELINE)).fit(texts, labels)
    assert model.scales == [1.0]
    text, expected = next(iter(HELD_OUT.items()))
    assert model.top(text, 1)[0][0] == expected
