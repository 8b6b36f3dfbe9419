"""Our scorer against NAB's published results (../shared/data/nab): the per-file scores of the two reference
detectors whose per-row outputs NAB ships (numenta HTM and Twitter ADVec) at their published threshold, and the
final normalised scores after our threshold optimisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from shizhi.warning.nab.runner import reproduce_published

pytestmark = pytest.mark.slow

NAB = Path(__file__).resolve().parents[5] / "shared" / "data" / "nab"
HAVE_NAB = (NAB / "results" / "numenta").is_dir() and (NAB / "results" / "twitterADVec").is_dir()


@pytest.mark.skipif(not HAVE_NAB, reason="NAB's data and published results (../shared/data/nab) are not here")
def test_published_reference_scores_are_reproduced() -> None:
    rows = {(r.detector, r.profile): r for r in reproduce_published(NAB)}
    assert len(rows) == 6
    for (detector, profile), r in rows.items():
        assert r.files == 58
        # every file's score at the published threshold, and its TP/TN/FP/FN row counts
        assert r.max_file_diff < 1e-9, (detector, profile)
        assert r.counts_match, (detector, profile)
        # the corpus score at the published threshold is the published final score
        assert r.at_published_threshold == pytest.approx(r.published_score, abs=1e-6), (detector, profile)
        # our threshold sweep finds the published optimum, or a better one
        assert r.optimised >= r.published_score - 1e-6, (detector, profile)

    exact = [k for k in rows if k != ("numenta", "reward_low_FP_rate")]
    for key in exact:
        assert rows[key].optimised == pytest.approx(rows[key].published_score, abs=1e-6), key
    # NAB's published numenta low-FP threshold (0.5752) came from a hill-climbing search that stopped at a local
    # optimum; the full sweep finds 0.5431, which scores 0.09 higher.
    low_fp = rows[("numenta", "reward_low_FP_rate")]
    assert low_fp.published_score == pytest.approx(63.1168, abs=1e-3)
    assert 0 < low_fp.optimised - low_fp.published_score < 0.1
    assert rows[("numenta", "standard")].published_score == pytest.approx(70.101, abs=1e-3)
    assert rows[("twitterADVec", "standard")].published_score == pytest.approx(47.062, abs=1e-3)
