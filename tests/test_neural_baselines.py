"""OC-NN and OC-CNN learn something (issue 13): each, composed from conf/ with its real defaults,
beats an AUROC floor on the synthetic latent-multi-class scenario (three hidden normal patterns,
three anomalous ones) for three seeds, and its scores are not a constant.

The contract's easy problem (anomalies = noisier images) could not catch the bug: before issue 13
both passed it while ranking digits_cur at chance. On this scenario the code of that time scored
OC-NN 0.22 / 0.31 / 0.23 and OC-CNN 0.31 / 0.44 / 0.33 (seeds 0, 1, 2; budget=smoke), and at ten times
smoke's epochs 0.26 / 0.29 / 0.28 and 0.49 / 0.63 / 0.67: below the floors. The budget is smoke's with
the step floors shrunk from budget=cpu's (2,000 / 3,000 steps) to 300; fewer steps rank this scenario
inverted (results/baselines_diagnosis.md, part 2).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.helpers.config import build_detector
from tests.helpers.synthetic import latent_multiclass

pytestmark = pytest.mark.usefixtures("one_thread")

SHRUNK = ["budget.occnn_ae_min_steps=100", "budget.ocnn_min_steps=300", "budget.occnn_min_steps=300"]
FLOOR = {"ocnn": 0.75, "occnn": 0.75}  # each seed; the code before issue 13: 0.22-0.67


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "name",
    [
        "ocnn",
        # Open (issue 13): at 300 steps OC-CNN's scores still sit within ~1e-3 of each other here
        # (AUROC 0.47 / 0.46 / 0.57); it reaches 0.80 on digits_cur only at budget=cpu's 3,000 steps.
        pytest.param("occnn", marks=pytest.mark.xfail(strict=True, reason="OC-CNN below its floor (issue 13, open)")),
    ],
)
def test_neural_baseline_beats_floor_on_latent_multiclass(name, seed):
    train_x, test_x, test_y, _ = latent_multiclass(n_per_class=40, size=16, seed=seed)
    scores = build_detector(name, *SHRUNK, seed=seed).fit(train_x).anomaly_score(test_x)
    assert np.std(scores) > 1e-6 and len(np.unique(scores)) > 0.9 * len(scores), "collapsed scores"
    assert roc_auc_score(test_y, scores) >= FLOOR[name], f"{name} seed {seed}"
