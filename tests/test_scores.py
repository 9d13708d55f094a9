"""clad/scores.py: each score against hand-computed values on a 2-feature linear "network", batched
ODIN against a per-sample loop, feature scores higher far from the training features, the registry
and the conf/score files, and parameter checks that name the parameter."""

import logging
import math

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.exceptions import NotFittedError
from torch import nn

from clad.confidence import odin_score
from clad.nets import ConvEncoder, ResNet, SmallCNN, Standardize
from clad.scores import KNN, MSP, ODIN, SCORES, Energy, Mahalanobis, MaxLogit, ReAct, Score, make_score, penultimate
from tests.helpers.paths import CONF, options
from tests.helpers.synthetic import seeded


class Linear2(nn.Module):
    """features = x (2 numbers), logits = (f1, f2, 0): hand-computable."""

    def __init__(self):
        super().__init__()
        self.features = nn.Identity()
        self.fc = nn.Linear(2, 3)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.features(x))


class Head(nn.Module):
    """features = x (d numbers), logits = a linear map of them."""

    def __init__(self, d: int):
        super().__init__()
        self.fc = nn.Linear(d, 3)

    def forward(self, x):
        return self.fc(x)


def _toy():
    return nn.Sequential(nn.Identity(), Linear2()).eval()


def _cnn(channels=1, seed=0):
    with seeded(seed):
        model = nn.Sequential(Standardize.fit(torch.rand(64, channels, 8, 8) * 0.8), SmallCNN((channels, 8, 8), 4))
        model.train()
        model(torch.rand(64, channels, 8, 8))  # move BatchNorm statistics off their initial values
        return model.eval(), torch.rand(12, channels, 8, 8)


L3 = math.log(3.0)
X = torch.tensor([[0.0, 0.0], [L3, 0.0]])  # logits (0, 0, 0) and (ln 3, 0, 0)


def test_logit_scores_by_hand():
    model = _toy()
    assert torch.allclose(MSP()(model, X), torch.tensor([2 / 3, 1 - 3 / 5]))
    s3 = math.sqrt(3.0)  # T = 2: exp(logits / 2) = (sqrt 3, 1, 1)
    assert torch.allclose(MSP(temperature=2.0)(model, X[1:]), torch.tensor([1 - s3 / (s3 + 2)]))
    assert torch.allclose(MaxLogit()(model, X), torch.tensor([0.0, -L3]))
    assert torch.allclose(Energy()(model, X), torch.tensor([-math.log(3.0), -math.log(5.0)]))
    assert torch.allclose(Energy(temperature=2.0)(model, X[1:]), torch.tensor([-2 * math.log(s3 + 2)]))


def test_knn_distance_to_kth_neighbour_by_hand(caplog):
    model = _toy()
    train = torch.tensor([[2.0, 0.0], [0.0, 3.0], [-0.5, 0.0]])  # normalized: (1, 0), (0, 1), (-1, 0)
    x = torch.tensor([[1.0, 1.0], [3.0, 0.0]])  # normalized: (1, 1) / sqrt 2, (1, 0)
    r = math.sqrt(2.0)
    expect = {1: [math.sqrt(2 - r), 0.0], 2: [math.sqrt(2 - r), r], 3: [math.sqrt(2 + r), 2.0]}
    for k, want in expect.items():
        assert torch.allclose(KNN(k=k).setup(model, train, batch_size=2)(model, x), torch.tensor(want), atol=1e-6)
    with caplog.at_level(logging.WARNING, logger="clad.scores"):
        capped = KNN(k=5).setup(model, train)
    assert "k=5 > 3 training images" in caplog.text
    assert torch.allclose(capped(model, x), torch.tensor(expect[3]), atol=1e-6)


def test_mahalanobis_by_hand():
    model = _toy()
    # Classes 3 and 7 (pseudo-labels need not be 0..K-1), each 4 points about its mean: the shared
    # covariance about the class means is diag(16, 4) / 8 = diag(2, 0.5), its inverse diag(0.5, 2).
    base = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    train = torch.cat([base, base + 10])
    labels = torch.tensor([3] * 4 + [7] * 4)
    x = torch.tensor([[2.0, 1.0], [10.0, 12.0], [0.0, 0.0]])
    want = torch.tensor([math.sqrt(0.5 * 4 + 2 * 1), math.sqrt(2 * 4), 0.0])  # nearest class: 3, 7, 3
    exact = Mahalanobis(ridge=0.0).setup(model, train, labels, batch_size=3)
    assert torch.allclose(exact.means_.float(), torch.tensor([[0.0, 0.0], [10.0, 10.0]]))
    assert torch.allclose(exact(model, x), want, atol=1e-6)
    assert torch.allclose(Mahalanobis().setup(model, train, labels)(model, x), want, atol=1e-4)


@pytest.mark.parametrize("ridge", [1e-2, 1e-6])
@pytest.mark.parametrize("n", [40, 12], ids=["more_images_than_dims", "fewer_images_than_dims"])
def test_mahalanobis_equals_the_inverse_of_the_ridged_covariance(n, ridge):
    """Both setup paths (eigh of S when d <= n, an SVD of the images when d > n) give sqrt((f - mu)^T (S + r I)^-1
    (f - mu)) minimised over the classes, r = ridge x S's mean variance, computed here with a plain inverse."""
    gen = torch.Generator().manual_seed(0)
    d = 20
    model = nn.Sequential(nn.Identity(), Head(d)).eval()  # penultimate features: the input itself
    train, labels, x = torch.randn(n, d, generator=gen), torch.arange(n) % 3, torch.randn(7, d, generator=gen)
    f, fx = train.double(), x.double()
    means = torch.stack([f[labels == c].mean(0) for c in range(3)])
    centered = f - means[labels]
    cov = centered.T @ centered / n
    precision = torch.linalg.inv(cov + ridge * cov.diagonal().mean() * torch.eye(d, dtype=cov.dtype))
    diff = fx[:, None, :] - means[None]
    want = torch.einsum("ncd,de,nce->nc", diff, precision, diff).min(1).values.sqrt()
    got = Mahalanobis(ridge=ridge).setup(model, train, labels)(model, x)
    assert torch.allclose(got.double(), want, rtol=1e-6)


def test_react_clips_then_energy_by_hand():
    model = _toy()
    train = torch.arange(10.0).reshape(5, 2)  # activations 0..9: 50th percentile 4.5, 90th 8.1
    x = torch.tensor([[10.0, 1.0], [3.0, 20.0]])
    half = ReAct(percentile=50.0).setup(model, train)
    assert half.threshold_ == pytest.approx(4.5)
    want = [-math.log(math.exp(4.5) + math.exp(1.0) + 1), -math.log(math.exp(3.0) + math.exp(4.5) + 1)]
    assert torch.allclose(half(model, x), torch.tensor(want))
    assert ReAct().setup(model, train).threshold_ == pytest.approx(8.1)
    below = torch.tensor([[1.0, 2.0]])  # under every threshold: ReAct is the energy
    assert torch.allclose(
        ReAct(percentile=50.0, temperature=2.0).setup(model, train)(model, below), Energy(temperature=2.0)(model, below)
    )


@pytest.mark.parametrize("eps_space", ["pixel", "normalized"])
@pytest.mark.parametrize("channels", [1, 3])
def test_batched_odin_equals_per_sample_loop(eps_space, channels):
    model, x = _cnn(channels)
    score = ODIN(temperature=1000.0, epsilon=0.002, eps_space=eps_space)
    batched = score(model, x)
    looped = torch.cat([score(model, x[i : i + 1]) for i in range(len(x))])
    assert batched.shape == (len(x),) and torch.isfinite(batched).all()
    assert torch.allclose(batched, looped, atol=1e-5)
    scale = model[0].std.flatten() if eps_space == "normalized" else None
    assert torch.allclose(batched, odin_score(model, x, 1000.0, 0.002, scale), atol=1e-6)
    with torch.inference_mode():  # the perturbation still gets its gradient
        assert torch.allclose(score(model, x), batched, atol=1e-6)


def test_odin_normalized_needs_the_std_on_the_model():
    model, x = _cnn()
    with pytest.raises(TypeError, match=r"model\[0\]\.std"):
        ODIN(eps_space="normalized")(model[1], x)
    assert torch.allclose(ODIN(temperature=3.0, epsilon=0.0)(model, x), MSP(temperature=3.0)(model, x))


@pytest.mark.parametrize(
    "net",
    [
        lambda: SmallCNN((1, 8, 8), 4),
        lambda: SmallCNN((1, 8, 8), 4, head="avg"),
        lambda: ResNet((1, 8, 8), 4, blocks=(1, 1), width=8),
        lambda: ConvEncoder((1, 8, 8), 4, channels=(8, 16), hidden=16),
    ],
    ids=["cnn", "cnn_avg", "resnet", "conv"],
)
def test_penultimate_splits_every_classifier(net):
    with seeded(0):
        x = torch.rand(5, 1, 8, 8)
        model = nn.Sequential(Standardize.fit(x), net()).eval()
    with torch.no_grad():
        features, head = penultimate(model, x)
        assert features.ndim == 2 and torch.allclose(head(features), model(x))
        if isinstance(model[1], SmallCNN):
            assert torch.allclose(features, model[1].features(model[0](x)))


def test_penultimate_names_what_it_needs():
    with pytest.raises(TypeError, match=r"needs `fc` \(an nn.Linear\) or `head`"):
        with seeded(0):
            penultimate(nn.Sequential(nn.Identity(), nn.Conv2d(1, 2, 3)), torch.rand(2, 1, 8, 8))


@pytest.mark.parametrize("make", [lambda: KNN(k=5), lambda: Mahalanobis()], ids=["knn", "mahalanobis"])
def test_far_from_the_training_features_scores_higher(make):
    gen = torch.Generator().manual_seed(0)
    centers = torch.tensor([[3.0, 0.5], [0.5, 3.0]])
    labels = torch.arange(200) % 2
    train = centers[labels] + 0.3 * torch.randn(200, 2, generator=gen)
    near = centers[torch.arange(50) % 2] + 0.3 * torch.randn(50, 2, generator=gen)
    far = torch.tensor([-3.0, -3.0]) + 0.3 * torch.randn(50, 2, generator=gen)
    model = _toy()
    score = make().setup(model, train, labels, batch_size=64)
    assert score(model, far).min() > score(model, near).max()


def test_setup_in_batches_equals_one_batch():
    model, x = _cnn(seed=1)
    train, labels = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(1)), torch.arange(40) % 4
    for make in (lambda: KNN(k=3), lambda: Mahalanobis(), lambda: ReAct()):
        a, b = make().setup(model, train, labels, batch_size=7), make().setup(model, train, labels, batch_size=64)
        assert torch.allclose(a(model, x), b(model, x), atol=1e-4)


def test_scoring_before_setup_or_after_a_setup_parameter_changed_raises():
    model = _toy()
    with pytest.raises(NotFittedError, match="KNN: call setup"):
        KNN()(model, X)
    react = ReAct().setup(model, torch.arange(10.0).reshape(5, 2))
    react.set_params(temperature=2.0)(model, X)  # read at scoring time: no new setup needed
    with pytest.raises(ValueError, match=r"ReAct: \['percentile'\] changed since setup"):
        react.set_params(percentile=50.0)(model, X)
    with pytest.raises(ValueError, match="Mahalanobis: setup needs one pseudo-label per training image"):
        Mahalanobis().setup(model, X)
    with pytest.raises(ValueError, match="training mode"):
        MSP()(_toy().train(), X)


def test_make_score_uses_each_classes_own_defaults():
    assert make_score("msp").temperature == 1.0 and make_score("energy").temperature == 1.0
    assert make_score("odin").temperature == 1000.0 and make_score("knn", k=7).k == 7
    given = ODIN(epsilon=0.002)
    made = make_score(given, temperature=10.0)
    assert (
        made is not given
        and given.temperature == 1000.0
        and made.get_params() == {"temperature": 10.0, "epsilon": 0.002, "eps_space": "pixel"}
    )
    assert type(make_score(ReAct)) is ReAct


def test_make_score_errors_name_the_options():
    with pytest.raises(
        ValueError, match=r"unknown score 'maha'.*'energy'.*'knn'.*'mahalanobis'.*'msp'.*'odin'.*'react'"
    ):
        make_score("maha")
    with pytest.raises(ValueError, match=r"MSP has no parameter epsilon; its parameters: \['temperature'\]"):
        make_score("msp", epsilon=0.1)
    with pytest.raises(ValueError, match="MSP: temperature must be > 0"):
        make_score(MSP(), temperature=0.0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MSP(temperature=0.0), "MSP: temperature must be > 0; got 0.0"),
        (lambda: Energy(temperature=-1.0), "Energy: temperature must be > 0"),
        (lambda: ODIN(temperature=float("nan")), "ODIN: temperature must be > 0"),
        (lambda: ODIN(epsilon=-0.1), "ODIN: epsilon must be >= 0"),
        (lambda: ODIN(eps_space="std"), "ODIN: eps_space must be 'pixel' or 'normalized'; got 'std'"),
        (lambda: KNN(k=0), "KNN: k must be an integer >= 1; got 0"),
        (lambda: KNN(k=2.5), "KNN: k must be an integer"),
        (lambda: Mahalanobis(ridge=-1.0), "Mahalanobis: ridge must be >= 0"),
        (lambda: ReAct(percentile=0.0), r"ReAct: percentile must be in \(0, 100\]; got 0.0"),
        (lambda: ReAct(percentile=101), r"ReAct: percentile must be in \(0, 100\]; got 101"),
        (lambda: ReAct(temperature=0), "ReAct: temperature must be > 0"),
        (lambda: KNN().setup(_toy(), X, batch_size=0), "KNN: batch_size must be an integer >= 1"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_every_registered_score_has_a_config_with_its_defaults():
    assert options("score") == sorted(SCORES)
    for name, cls in SCORES.items():
        score = instantiate(OmegaConf.load(CONF / "score" / f"{name}.yaml"))
        assert type(score) is cls and issubclass(cls, Score)
        assert score.get_params() == cls().get_params(), name
