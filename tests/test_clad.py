"""CLAD and its stages on an easy synthetic latent multi-class scenario it never sees labels of."""

import copy
from functools import partial

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from clad.base import NotFittedError
from clad.clustering import DEC, FaissKMeans, soft_assign, target_distribution
from clad.detector import CLAD
from clad.metrics import auroc
from clad.nets import ConvAutoencoder, Standardize
from clad.scores import ODIN
from tests.helpers.synthetic import latent_multiclass, seeded


def _clad(**kw):
    params = dict(n_clusters=3, ae_epochs=15, train_epochs=10, batch_size=64, device="cpu", random_state=0)
    return CLAD(**{**params, **kw})


@pytest.fixture(scope="module")
def scenario():
    return latent_multiclass(n_per_class=100, size=16, seed=0)


@pytest.fixture(scope="module")
def _shared_fit(scenario):
    return _clad().fit(scenario[0])


@pytest.fixture
def fitted(_shared_fit):
    """A copy of the module's one fit, for a test to rescore with other settings."""
    return copy.deepcopy(_shared_fit)


@pytest.mark.parametrize("score", ["odin", "msp", "energy", "maxlogit"])
def test_clad_beats_chance_on_latent_multiclass(scenario, fitted, score):
    _, test_x, test_y, _ = scenario
    fitted.set_params(score=score)  # a score that needs no setup needs no refit; each name has its own T
    assert auroc(test_y, fitted.anomaly_score(test_x)) >= 0.9


def test_pseudo_labels_recover_hidden_classes_with_dec(scenario):
    train_x, _, _, train_class = scenario
    det = _clad(dec=DEC(max_epochs=5), train_epochs=1).fit(train_x)
    assert adjusted_rand_score(train_class, det.pseudo_labels_) >= 0.9
    assert det.cluster_sizes_.sum() == len(train_x)


def test_faiss_uses_every_point_and_agrees_with_sklearn():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (4, 5))
    z = np.concatenate([c + rng.normal(0, 0.5, (2000, 5)) for c in centres]).astype(np.float32)
    truth = np.repeat(np.arange(4), 2000)
    faiss_labels = FaissKMeans(n_clusters=4, random_state=0).fit_predict(z)
    sk_labels = KMeans(n_clusters=4, n_init=3, random_state=0).fit_predict(z)
    assert adjusted_rand_score(truth, faiss_labels) == 1.0
    assert adjusted_rand_score(sk_labels, faiss_labels) == 1.0


def test_dec_target_sharpens_soft_assignment():
    z = torch.tensor([[0.0, 0.0], [0.4, 0.0], [3.0, 3.0]])
    q = soft_assign(z, torch.tensor([[0.0, 0.0], [3.0, 3.0]]))
    p = target_distribution(q)
    assert torch.allclose(q.sum(1), torch.ones(3)) and torch.allclose(p.sum(1), torch.ones(3))
    assert (p.max(1).values >= q.max(1).values).all()


def test_autoencoder_learns_to_reconstruct(scenario):
    from clad.training import train_autoencoder

    x = torch.from_numpy(scenario[0])
    xs = Standardize.fit(x)(x)
    with seeded(0):
        ae = ConvAutoencoder((1, 16, 16), latent_dim=10)
    losses = train_autoencoder(ae, xs, 5, 64, 1e-3, 0.0, torch.Generator().manual_seed(0))
    assert losses[-1] < 0.5 * losses[0]


def test_scoring_before_fit_and_bad_arguments_raise(scenario):
    train_x = scenario[0]
    with pytest.raises(NotFittedError):
        _clad().anomaly_score(train_x)
    with pytest.raises(ValueError, match="unknown score 'nope'"):
        _clad(score="nope").fit(train_x)
    with pytest.raises(ValueError, match="eps_space must be 'pixel' or 'normalized'"):
        ODIN(eps_space="raw")
    with pytest.raises(ValueError, match="n_clusters must be between 2"):
        _clad(n_clusters=1).fit(train_x)


def test_min_steps_adds_epochs_on_small_training_sets():
    from clad.training import fit_epochs

    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    loss = lambda idx: ((w - 1.0) ** 2).sum()  # noqa: E731
    module = torch.nn.Identity()  # fit_epochs only switches its mode
    history = fit_epochs(
        module,
        loss,
        n=10,
        epochs=1,
        batch_size=5,
        optimizer=opt,
        generator=torch.Generator().manual_seed(0),
        stage="t",
        min_steps=7,
    )
    assert len(history) == 4  # 2 steps per epoch -> ceil(7 / 2) epochs
    assert len(fit_epochs(module, loss, 10, 6, 5, opt, torch.Generator().manual_seed(0), "t", min_steps=7)) == 6


def test_eps_space_changes_the_perturbation_not_the_verdict(scenario, fitted):
    _, test_x, test_y, _ = scenario
    fitted.set_params(score=ODIN(temperature=1000.0, epsilon=0.01, eps_space="pixel"))
    pixel = fitted.anomaly_score(test_x)
    fitted.set_params(score__eps_space="normalized")  # scikit-learn's nested parameters
    normalized = fitted.anomaly_score(test_x)
    assert not np.allclose(pixel, normalized)
    assert auroc(test_y, pixel) >= 0.9 and auroc(test_y, normalized) >= 0.9


def test_clad_fits_with_scikit_learns_kmeans(scenario):
    det = _clad(kmeans=partial(KMeans, n_init=2), dec=None, ae_epochs=1, train_epochs=1)
    assert det.fit(scenario[0]).pseudo_labels_.shape == (len(scenario[0]),)


def test_channels_last_path_scores_as_the_plain_path(scenario):
    """The fast memory layout (NHWC weights, the default) changes the speed, not the result: the same seed
    gives the plain NCHW path's pseudo-labels and, up to float rounding, its scores (issue 11)."""
    train_x, test_x, _, _ = scenario
    fast = _clad(ae_epochs=3, train_epochs=3).fit(train_x)
    plain = _clad(ae_epochs=3, train_epochs=3, channels_last=False).fit(train_x)
    assert fast.get_params()["channels_last"] and not plain.get_params()["channels_last"]
    assert (fast.pseudo_labels_ == plain.pseudo_labels_).mean() >= 0.99
    np.testing.assert_allclose(fast.anomaly_score(test_x), plain.anomaly_score(test_x), rtol=1e-3, atol=1e-4)
    # NHWC is the autoencoder's; on a CPU the small classifier stays NCHW, where it runs faster
    conv = [m for m in fast.model_.modules() if isinstance(m, torch.nn.Conv2d)][-1]  # > 1 input channel
    assert conv.weight.is_contiguous() and not conv.weight.is_contiguous(memory_format=torch.channels_last)
