"""Every option of every config group composes and takes effect: the part it names is the one that
gets built (classifier=resnet builds a ResNet, cluster=sklearn hands CLAD a scikit-learn KMeans
factory, score=knn a KNN, dataset=mnist the MNIST loader, budget=paper the paper's epochs, ...).
The default config instantiates; unknown names fail with Hydra's list of options. Names mean one
thing (issue 8): every budget key is read somewhere, and ae_recon and latent_kmeans take CLAD's
autoencoder settings under every budget."""

from __future__ import annotations

import re

import pytest
from hydra.errors import MissingConfigException
from hydra.types import RunMode
from hydra.utils import get_method, instantiate
from omegaconf import OmegaConf
from sklearn.cluster import KMeans

from baselines.ae_recon import AEReconstruction
from baselines.deepsvdd import DeepSVDD
from baselines.latent_kmeans import LatentKMeans
from baselines.occnn import OCCNN
from baselines.ocnn import OCNN
from baselines.ocsvm import OCSVM
from baselines.svdd import SVDD
from clad.clustering import DEC, FaissKMeans
from clad.data.cifar10 import load_cifar10
from clad.data.digits import load_digits
from clad.data.gtsrb import load_gtsrb
from clad.data.image_folder import load_image_folder
from clad.data.mnist import load_mnist
from clad.data.tiny_imagenet import load_tiny_imagenet
from clad.detector import CLAD
from clad.experiment import build_data
from clad.nets import ConvEncoder, ResNet, SmallCNN
from clad.scores import SCORES
from clad.tracking import NullLogger, WandbLogger
from tests.helpers.config import UNUSED_OUTPUT_DIR, compose
from tests.helpers.paths import CONF, DETECTORS, GROUPS, options
from tests.helpers.synthetic import seeded

OPTIONS = [(g, o) for g in GROUPS for o in options(g)]
# Settings an option needs before it composes into a runnable config.
NEEDS = {("split", "custom"): ["split.normal=[1,7]"], ("dataset", "image_folder"): ["dataset.path=x"]}
NEEDS |= {("budget", b): ["dataset=mnist", "split=mnist_cur"] for b in options("budget")}  # a dataset that subsamples

DETECTOR_CLASSES = {
    "ae_recon": AEReconstruction,
    "clad": CLAD,
    "clad_plus": CLAD,
    "deepsvdd": DeepSVDD,
    "latent_kmeans": LatentKMeans,
    "occnn": OCCNN,
    "ocnn": OCNN,
    "ocsvm": OCSVM,
    "svdd": SVDD,
}
LOADERS = {
    "cifar10": load_cifar10,
    "digits": load_digits,
    "gtsrb": load_gtsrb,
    "image_folder": load_image_folder,
    "mnist": load_mnist,
    "tiny_imagenet": load_tiny_imagenet,
}
CLASSIFIERS = {"by_shape": SmallCNN, "cnn": SmallCNN, "conv": ConvEncoder, "resnet": ResNet}  # built at 8x8
KMEANS = {"faiss": FaissKMeans, "faiss_dec": FaissKMeans, "sklearn": KMeans, "sklearn_dec": KMeans}


def detector(cfg):
    return instantiate(cfg.detector, _convert_="all")


# ---------------------------------------------------------------------- what each option changes
def detector_is_built(cfg, option):
    det = detector(cfg)
    assert type(det) is DETECTOR_CLASSES[option]
    assert det.random_state == cfg.seed and det.device == cfg.device
    if option == "clad_plus":  # CLAD with its score fixed to Mahalanobis
        assert type(det.score) is SCORES["mahalanobis"]


def classifier_is_built(cfg, option):
    with seeded(0):
        net = detector(cfg).classifier((1, 8, 8), 3)  # CLAD calls it with the input shape and k
    assert type(net) is CLASSIFIERS[option]
    if option == "by_shape":  # grey 28x28 images get a ResNet, one BasicBlock a stage at width 16
        net = detector(cfg).classifier((1, 28, 28), 3)
        assert type(net) is ResNet and len(net.layers) == 4 and net.stem[0].out_channels == 16
        assert type(detector(cfg).classifier((3, 32, 32), 3)) is SmallCNN


def cluster_is_used(cfg, option):
    det = detector(cfg)
    assert type(det.kmeans(n_clusters=3, random_state=0)) is KMEANS[option]
    assert isinstance(det.dec, DEC) if option.endswith("_dec") else det.dec is None


def score_is_used(cfg, option):
    assert type(detector(cfg).score) is SCORES[option]


def dataset_is_loaded(cfg, option):
    assert get_method(cfg.dataset._target_) is LOADERS[option]
    if option == "digits":  # the one dataset that ships with the code: load it
        assert build_data(cfg)[0].name == "digits"


def split_is_used(cfg, option):
    assert cfg.split.name == option
    if cfg.split.get("dataset") in (None, "digits"):  # a split the embedded digits can make
        _, split = build_data(cfg)
        assert split.name == option and len(split.normal) == len(cfg.split.normal)
    else:
        assert option.startswith(f"{cfg.split.dataset}_")


def budget_is_used(cfg, option):
    budget = OmegaConf.load(CONF / "budget" / f"{option}.yaml")
    det = detector(cfg)  # CLAD
    assert (det.ae_epochs, det.train_epochs, det.min_steps, det.dec.max_epochs) == (
        budget.ae_epochs,
        budget.train_epochs,
        budget.min_steps,
        budget.cluster_epochs,
    )
    assert OmegaConf.to_container(cfg.dataset, resolve=True)["max_train_per_class"] == budget.max_train_per_class


def logger_is_built(cfg, option):
    logger = instantiate(cfg.logger)
    if option == "none":
        assert type(logger) is NullLogger
    else:
        assert type(logger) is WandbLogger and logger.mode == "offline" and logger.dir == UNUSED_OUTPUT_DIR


def paths_are_used(cfg, option):
    assert cfg.paths.output_dir == UNUSED_OUTPUT_DIR
    assert cfg.paths.data_dir == "/data/from/env"  # $CLAD_DATA, set by the test


def hydra_is_configured(cfg, option):
    assert cfg.hydra.run.dir.startswith("outputs/") and cfg.hydra.job.chdir is False
    assert cfg.hydra.callbacks.sweep_guard._target_ == "clad.record.SweepGuard"


def experiment_is_a_multirun(cfg, option):
    assert cfg.hydra.mode == RunMode.MULTIRUN and cfg.hydra.sweep.dir == f"multirun/{option}"


EFFECTS = {
    "budget": budget_is_used,
    "classifier": classifier_is_built,
    "cluster": cluster_is_used,
    "dataset": dataset_is_loaded,
    "detector": detector_is_built,
    "experiment": experiment_is_a_multirun,
    "hydra": hydra_is_configured,
    "logger": logger_is_built,
    "paths": paths_are_used,
    "score": score_is_used,
    "split": split_is_used,
}


def test_every_group_has_an_effect_check():
    assert sorted(EFFECTS) == GROUPS, "a new config group: say in EFFECTS what choosing its options changes"
    assert sorted(DETECTOR_CLASSES) == DETECTORS and sorted(LOADERS) == options("dataset")
    assert sorted(CLASSIFIERS) == options("classifier") and sorted(KMEANS) == options("cluster")


@pytest.mark.parametrize("group, option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_takes_effect(group, option, monkeypatch):
    monkeypatch.setenv("CLAD_DATA", "/data/from/env")
    cfg = compose(f"{group}={option}", *NEEDS.get((group, option), []))
    assert cfg.hydra.runtime.choices[group] == option
    EFFECTS[group](cfg, option)


def test_default_run_instantiates():
    cfg = compose()
    det = detector(cfg)
    assert type(det) is CLAD and det.random_state == cfg.seed and det.device == "auto"
    assert type(det.kmeans(n_clusters=3, random_state=0)) is FaissKMeans and type(det.dec) is DEC
    assert type(det.score) is SCORES["odin"] and det.ae_epochs == OmegaConf.load(CONF / "budget" / "cpu.yaml").ae_epochs
    assert type(instantiate(cfg.logger)) is NullLogger
    assert cfg.hydra.runtime.choices.classifier == "by_shape"  # the ResNet for grey 28x28, the cnn otherwise


@pytest.mark.parametrize("group", ["dataset", "split", "detector"])
def test_unknown_option_lists_the_available_ones(group):
    with pytest.raises(MissingConfigException) as err:
        compose(f"{group}=no_such_option")
    message = str(err.value)
    assert "no_such_option" in message and f"Available options in '{group}'" in message
    assert options(group)[0] in message


# ------------------------------------------------------------------ one name, one meaning (issue 8)
OLD_NAMES = {"pretrain_epochs", "rep_dim", "feature_dim"}  # ae_epochs and latent_dim now, everywhere


def test_every_budget_key_is_read_and_every_budget_has_them_all():
    keys = {option: set(OmegaConf.load(CONF / "budget" / f"{option}.yaml")) for option in options("budget")}
    assert len({frozenset(k) for k in keys.values()}) == 1, keys  # the same keys in every budget
    read = set()
    for path in CONF.rglob("*.yaml"):
        read |= set(re.findall(r"\$\{budget\.(\w+)\}", path.read_text()))
    assert read == keys["cpu"], f"read but not in the budgets: {read - keys['cpu']}; never read: {keys['cpu'] - read}"
    assert not OLD_NAMES & read


@pytest.mark.parametrize("name", DETECTORS)
def test_a_setting_has_one_name_in_every_detector(name):
    params = set(detector(compose(f"detector={name}")).get_params(deep=False))
    assert not params & OLD_NAMES
    if name in ("clad", "ae_recon", "latent_kmeans", "ocnn", "occnn", "deepsvdd"):  # an autoencoder each
        assert {"ae_epochs", "latent_dim"} <= params


SHARED_WITH_CLAD = ["latent_dim", "ae_epochs", "min_steps", "ae_channels", "ae_hidden", "schedule"]
SHARED_WITH_CLAD += ["batch_size", "lr", "weight_decay", "eval_batch_size", "device", "random_state"]


@pytest.mark.parametrize("budget", options("budget"))
@pytest.mark.parametrize("name", ["ae_recon", "latent_kmeans"])
def test_clads_ablations_get_clads_autoencoder(name, budget):
    """ "CLAD without its classifier" is a fair ablation only with CLAD's autoencoder and budget."""
    clad = detector(compose("detector=clad", f"budget={budget}")).get_params(deep=False)
    ablation = detector(compose(f"detector={name}", f"budget={budget}")).get_params(deep=False)
    assert {k: ablation[k] for k in SHARED_WITH_CLAD} == {k: clad[k] for k in SHARED_WITH_CLAD}
    if name == "latent_kmeans":
        assert ablation["n_clusters"] == clad["n_clusters"]
        assert repr(ablation["kmeans"]) == repr(clad["kmeans"])  # the same factory, from the cluster group
