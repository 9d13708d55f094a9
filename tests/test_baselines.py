"""Baseline-specific checks, each naming what it guards: the SVDD dual against the one-class SVM
(Tax and Duin 2004: with a Gaussian kernel the two are the same problem), the OCSVM adapter's
single sign flip, Deep SVDD's known failure modes (PyOD's regression tests: scores not constant,
centre not zero, parameters move), OC-NN's quantile update of r and OC-CNN's probabilities, and
ae_recon and latent_kmeans as CLAD without its classifier (issue 8: the same autoencoder, so the
ablation is fair)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.svm import OneClassSVM

from baselines.ae_recon import AEReconstruction
from baselines.deepsvdd import DeepSVDD
from baselines.deepsvdd_nets import LeNetEncoder
from baselines.latent_kmeans import LatentKMeans
from baselines.occnn import OCCNN
from baselines.ocnn import OCNN
from baselines.ocsvm import OCSVM
from baselines.svdd import SVDD
from clad.detector import CLAD
from clad.training import predict
from tests.helpers.synthetic import easy_problem, latent_multiclass, seeded

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def blobs():
    """Small (1, 4, 4) images: normal ones from a Gaussian blob, test ones from a wider one."""
    rng = np.random.default_rng(0)
    train = np.clip(0.5 + 0.1 * rng.standard_normal((150, 1, 4, 4)), 0, 1).astype(np.float32)
    test = np.clip(0.5 + 0.25 * rng.standard_normal((200, 1, 4, 4)), 0, 1).astype(np.float32)
    return train, test


@pytest.fixture(scope="module")
def easy():
    return easy_problem(n_train=200, n_test=100)


@pytest.mark.parametrize("nu", [0.05, 0.2])
def test_svdd_ranks_like_ocsvm_with_gaussian_kernel(blobs, nu):
    train, test = blobs
    svdd = SVDD(nu=nu, gamma=0.5, device="cpu").fit(train).anomaly_score(test)
    ocsvm = OCSVM(nu=nu, gamma=0.5, device="cpu").fit(train).anomaly_score(test)
    assert spearmanr(svdd, ocsvm).statistic >= 0.99


def test_svdd_dual_is_feasible_and_nu_bounds_the_outliers(blobs):
    train, _ = blobs
    det = SVDD(nu=0.1, gamma=0.5, device="cpu").fit(train)
    C = 1 / (0.1 * len(train))
    assert det.alpha_.sum() == pytest.approx(1.0, abs=1e-6)
    assert (det.alpha_ >= 0).all() and (det.alpha_ <= C + 1e-9).all()
    outside = (det.anomaly_score(train) > 1e-6).mean()
    assert outside <= 0.1 + 0.02  # nu is an upper bound on the fraction of training outliers


def test_ocsvm_adapter_is_the_negated_sklearn_score(blobs):
    train, test = blobs
    det = OCSVM(nu=0.1, gamma=0.5, eval_batch_size=7, device="cpu").fit(train)
    ref = OneClassSVM(kernel="rbf", nu=0.1, gamma=0.5).fit(train.reshape(len(train), -1).astype(np.float64))
    np.testing.assert_allclose(
        det.anomaly_score(test), -ref.decision_function(test.reshape(len(test), -1)), rtol=1e-10, atol=1e-12
    )


def test_kernel_methods_log_their_subsampling(blobs, caplog):
    train, test = blobs
    with caplog.at_level(logging.INFO):
        det = OCSVM(max_train=50, device="cpu").fit(train)
    assert "random subset of 50 of the 150" in caplog.text
    assert det.svm_.shape_fit_[0] == 50
    with pytest.raises(ValueError, match="nu"):
        SVDD(nu=0.0).fit(train)


@pytest.fixture(scope="module", params=["one-class", "soft-boundary"])
def deepsvdd(request, easy):
    det = DeepSVDD(
        objective=request.param, ae_epochs=3, epochs=15, warmup_epochs=2, batch_size=50, lr=1e-3, device="cpu"
    ).fit(easy[0])
    return det, det.anomaly_score(easy[1])


def test_deepsvdd_scores_are_not_constant(deepsvdd):
    _, scores = deepsvdd
    assert np.std(scores) > 1e-6 and len(np.unique(scores)) == len(scores)


def test_deepsvdd_center_is_not_zero(deepsvdd):
    det, _ = deepsvdd
    # c = 0 (or a zero coordinate) can be matched by all-zero weights: the trivial collapse.
    assert (det.center_.abs() >= det.eps - 1e-7).all()


def test_deepsvdd_parameters_change_during_training(deepsvdd):
    det, _ = deepsvdd
    final = det.model_[1].state_dict()
    moved = [k for k, v in det.pretrained_state_.items() if v.is_floating_point() and not torch.equal(v, final[k])]
    assert any("fc" in k for k in moved) and any("features" in k for k in moved), moved


def test_deepsvdd_soft_boundary_radius(deepsvdd, easy):
    det, _ = deepsvdd
    if det.objective != "soft-boundary":
        assert det.radius_ == 0.0
        return
    assert det.radius_ > 0
    outside = (det.anomaly_score(easy[0]) > 0).mean()
    assert 0.0 < outside < 0.5  # R is the (1 - nu) quantile of batch distances: about nu outside


def test_deepsvdd_networks_are_the_papers_and_bias_free():
    with seeded(0):
        mnist, cifar = LeNetEncoder((1, 28, 28), (8, 4), 32), LeNetEncoder((3, 32, 32), (32, 64, 128), 128)
    assert sum(p.numel() for p in mnist.parameters()) == 8 * 25 + 4 * 8 * 25 + 4 * 7 * 7 * 32  # Ruff's MNIST LeNet
    assert cifar(torch.zeros(2, 3, 32, 32)).shape == (2, 128)
    for net in (mnist, cifar):
        assert not any("bias" in name for name, _ in net.named_parameters())


def test_ocnn_r_is_the_nu_quantile_of_the_outputs(easy):
    det = OCNN(nu=0.2, ae_epochs=2, epochs=3, device="cpu").fit(easy[0])
    outside = (det.anomaly_score(easy[0]) > 0).mean()
    assert outside == pytest.approx(0.2, abs=0.02)  # r-step: a fraction nu of training outputs below r


def test_ocnn_recon_weight_keeps_the_autoencoder_reconstructing(easy):
    """recon_weight > 0 trains the decoder with the encoder; at 0 the encoder drifts under eq. 4 alone while the
    decoder stays as pretrained, so the autoencoder reconstructs the training images worse. Same seed, same
    pretraining."""

    def reconstruction_error(det):
        with torch.no_grad():
            x = det.norm_(torch.from_numpy(easy[0]))
            return float(torch.nn.functional.mse_loss(det.ae_(x), x))

    plain, kept = (OCNN(ae_epochs=5, epochs=20, recon_weight=w, lr=1e-3, device="cpu").fit(easy[0]) for w in (0.0, 1.0))
    assert reconstruction_error(kept) < reconstruction_error(plain)


def test_occnn_scores_are_anomaly_probabilities(easy):
    det = OCCNN(ae_epochs=2, epochs=3, device="cpu").fit(easy[0])
    scores = det.anomaly_score(easy[1])
    assert ((scores >= 0) & (scores <= 1)).all()
    # The classifier tells the normal features from the Gaussian pseudo-negatives in feature space.
    with torch.inference_mode():
        noise = det.sigma * torch.randn(100, det.latent_dim, generator=torch.Generator().manual_seed(0))
        p_noise = torch.softmax(det.classifier_(noise), dim=1)[:, 1].mean()
    assert det.anomaly_score(easy[0]).mean() < 0.5 * p_noise


def test_reference_detectors_match_hand_computation(easy):
    train, test, _ = easy
    ae = AEReconstruction(ae_epochs=1, device="cpu").fit(train)
    with torch.inference_mode():
        xs = ae.norm_(torch.from_numpy(test))
        np.testing.assert_allclose(
            ae.anomaly_score(test), ((ae.ae_(xs) - xs) ** 2).mean(dim=(1, 2, 3)).numpy(), rtol=1e-5
        )
    km = LatentKMeans(n_clusters=3, ae_epochs=1, device="cpu").fit(train)
    codes = km._codes(test).numpy()
    d2 = ((codes[:, None, :] - km.centroids_.numpy()[None]) ** 2).sum(-1).min(1)
    np.testing.assert_allclose(km.anomaly_score(test), d2, rtol=1e-4, atol=1e-6)


# Settings CLAD and its two ablations share: a small autoencoder, few epochs.
SHARED = dict(
    latent_dim=4,
    ae_epochs=2,
    min_steps=6,
    ae_channels=(8, 16),
    ae_hidden=32,
    schedule="cosine",
    batch_size=64,
    lr=2e-3,
    weight_decay=1e-5,
    device="cpu",
    random_state=3,
)


def test_ae_recon_and_latent_kmeans_train_clads_autoencoder():
    """Same settings and seed: both train CLAD's stage-1 autoencoder step for step (min_steps and the
    schedule included), so their codes are CLAD's, and latent_kmeans' k-means is CLAD's before DEC."""
    train = latent_multiclass(n_per_class=40, size=16, seed=0)[0]
    clad = CLAD(n_clusters=3, dec=None, train_epochs=1, save_codes=True, **SHARED).fit(train)
    km = LatentKMeans(n_clusters=3, **SHARED).fit(train)
    ae = AEReconstruction(**SHARED).fit(train)
    assert clad.diagnostics_["ae_epochs"] == 3  # min_steps=6 raised 2 epochs of 2 batches to 3
    for det in (km, ae):
        np.testing.assert_allclose(det.ae_.loss_history, clad.diagnostics_["ae_loss_history"], rtol=1e-6)
        codes = predict(lambda x: det.ae_.encoder(det.norm_(x)), train, 512, torch.device("cpu")).numpy()
        np.testing.assert_allclose(codes, clad.codes_, rtol=1e-5, atol=1e-6, err_msg=type(det).__name__)
    nearest = ((clad.codes_[:, None] - km.centroids_.numpy()[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(nearest, clad.pseudo_labels_)
