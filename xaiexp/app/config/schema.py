"""Config schemas: the top-level keys, and one dataclass per built-in ``_target_``.

Registered with Hydra's ConfigStore so an unknown key or a wrong type fails at composition,
naming the key. The groups that make objects (dataset, model, optimizer, schedule) are
``_target_`` nodes, built with ``hydra.utils.instantiate``: a built-in target's arguments are
checked against its schema below, a user's own target against its signature
(``xaiexp.app.config.targets``). None of this imports TensorFlow.
"""

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from xaiexp.architecture import pretrained
from xaiexp.backend.choices import PRECISIONS, STRATEGIES
from xaiexp.xai.registry import DEFAULT_METRICS, default_methods
from xaiexp.xai.saliency_settings import (DEFAULTS, ExplainedOutput, NoiseRange, PassOptions,
                                          ProbeChoice, SaliencySettings)


def bounded(default, minimum=None, above=None, below=None, maximum=None):
    """A field whose value must be >= ``minimum``, > ``above``, < ``below`` and <= ``maximum``
    (those given); ``validate`` reads the bounds, so each range is written once, by its key."""
    bounds = {"minimum": minimum, "above": above, "below": below, "maximum": maximum}
    return field(default=default, metadata={k: v for k, v in bounds.items() if v is not None})


# What the runner passes to a group's target besides the YAML's arguments, when the target
# accepts them: a model is built for the dataset's images and classes, a schedule for the run's
# length, a dataset loader may hold out the test split itself (shapes does, to alter it), a
# trace gets the model, the schedule's lr_fn, the dataset's class names and mask keys, whether
# the model outputs logits (model.logits) and what a black pixel becomes in the model's input
# (the dataset's Normalize of 0).
RUNNER_ARGUMENTS = {"model": ("input_shape", "classes"), "schedule": ("total_steps",),
                    "dataset": ("test_split",), "optimizer": (), "decoy": (),
                    "traces": ("model", "lr_fn", "label_mapping", "mask_key", "decoy_key",
                               "from_logits", "saliency", "black")}
TARGET_GROUPS = ("dataset", "model", "optimizer", "schedule")  # one _target_ node each
TRACE_DIRECTORIES = ("save_dir", "log_dir")  # trace arguments relative to the run's folder
MLFLOW_TRACE = "xaiexp.tracking.mlflow_trace.MLflowTrace"  # built only while tracking is on


@dataclass
class NormalizeConfig:
    """``Normalize`` op: (x - mean * max_pixel_value) / (std * max_pixel_value)."""
    mean: List[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: List[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    max_pixel_value: float = bounded(255.0, above=0)


@dataclass
class DatasetKeys:
    """Keys of every dataset config that xaiexp reads itself (not arguments of ``_target_``)."""
    OWN: ClassVar[tuple] = ("test_split", "class_names", "normalize")
    _target_: str = "???"
    test_split: float = bounded(0.5, above=0, below=1)  # share of eval held out as test
    # Names of labels 0, 1, ...: replace the dataset's own (in plots and logs); as many distinct,
    # non-empty names as the dataset has classes, checked before training starts.
    class_names: Optional[List[str]] = None
    # null: no Normalize op (models that normalize themselves, e.g. model=mobilenet_v2)
    normalize: Optional[NormalizeConfig] = field(default_factory=NormalizeConfig)


@dataclass
class ShapesConfig(DatasetKeys):
    _target_: str = "xaiexp.dataset.data.shapes.load_data"
    n_train: int = bounded(8000, minimum=1)
    n_eval: int = bounded(2000, minimum=1)
    image_size: int = bounded(32, minimum=1)
    seed: int = 0
    # a class-coded pattern patch in a corner of every train/eval image, repainted at random in
    # the test split (experiment=shortcut_detection)
    shortcut: bool = False


@dataclass
class KerasDatasetConfig(DatasetKeys):
    """cifar10, mnist, fashion_mnist: the Keras cache, or ``path`` to the official file(s)."""
    path: Optional[str] = None


@dataclass
class NpzConfig(DatasetKeys):
    _target_: str = "xaiexp.dataset.data.npz.load_data"
    path: str = "???"
    eval_fraction: float = bounded(0.2, above=0, below=1)
    seed: int = 0


@dataclass
class FolderConfig(DatasetKeys):
    _target_: str = "xaiexp.dataset.data.folder.load_data"
    path: str = "???"  # one sub-folder per class
    image_size: int = bounded(224, minimum=1)
    masks: Optional[str] = None  # a folder mirroring path: object masks, same file names
    eval_path: Optional[str] = None  # null: eval_split of path is held out
    test_path: Optional[str] = None  # null: test_split of eval is held out
    eval_masks: Optional[str] = None  # masks of eval_path (given with masks, with eval_path)
    test_masks: Optional[str] = None  # masks of test_path (given with masks, with test_path)
    # folders mirroring path, eval_path, test_path: where a shortcut may sit (decoy regions)
    decoy_masks: Optional[str] = None
    eval_decoy_masks: Optional[str] = None
    test_decoy_masks: Optional[str] = None
    eval_split: float = bounded(0.2, above=0, below=1)
    seed: int = 0


@dataclass
class TfdsConfig(DatasetKeys):
    _target_: str = "xaiexp.dataset.data.tfds.load_data"
    name: str = "???"  # a tensorflow-datasets name, e.g. oxford_flowers102
    data_dir: Optional[str] = None  # null: tensorflow-datasets' default (~/tensorflow_datasets)
    image_size: Optional[int] = None  # null: the dataset's own size (must be fixed)
    train_split: str = "train"  # split names in tfds' syntax, e.g. train[:80%]
    eval_split: str = "test"
    test_split_name: Optional[str] = None  # null: test_split of eval is held out


@dataclass
class ModelKeys:
    """Keys of every model config that xaiexp reads itself (not arguments of ``_target_``)."""
    OWN: ClassVar[tuple] = ("logits",)
    _target_: str = "???"
    # true: the model outputs logits (no final softmax); the loss takes them as logits, and what
    # is explained and scored as a probability is their softmax. Checked once before training.
    logits: bool = False


@dataclass
class LeNetConfig(ModelKeys):
    MIN_IMAGE_SIZE: ClassVar[int] = 18  # smallest side its layers can take
    _target_: str = "xaiexp.architecture.tensorflow.LeNet"
    width: int = bounded(1, minimum=1)  # multiplies every layer's filters/units


@dataclass
class CNNConfig(ModelKeys):
    MIN_IMAGE_SIZE: ClassVar[int] = 4
    _target_: str = "xaiexp.architecture.tensorflow.CNN"
    width: int = bounded(1, minimum=1)
    dropout: float = bounded(0.0, minimum=0, below=1)


@dataclass
class BackboneConfig(ModelKeys):
    """A Keras Applications backbone with a new head; ``weights``: imagenet, null or a file."""
    MIN_IMAGE_SIZE: ClassVar[int] = pretrained.MIN_SIZE
    _target_: str = "???"
    weights: Optional[str] = "imagenet"  # imagenet (from Keras' cache), null, or a weights file
    freeze_backbone: bool = True
    dropout: float = bounded(0.2, minimum=0, below=1)


@dataclass
class MobileNetV2Config(BackboneConfig):
    _target_: str = "xaiexp.architecture.tensorflow.MobileNetV2"
    alpha: float = bounded(1.0, above=0)  # width multiplier


@dataclass
class ResNet50Config(BackboneConfig):
    _target_: str = "xaiexp.architecture.tensorflow.ResNet50"


@dataclass
class SavedModelConfig(ModelKeys):
    _target_: str = "xaiexp.architecture.tensorflow.load_model"
    path: str = "???"  # a .keras file


# Pretrained backbones' targets -> their names in xaiexp.architecture.pretrained
BACKBONES = {MobileNetV2Config._target_: "mobilenet_v2", ResNet50Config._target_: "resnet50"}


@dataclass
class BoxConfig:
    """A decoy region: a rectangle of the model's input, in pixels (negative: from the end)."""
    _target_: str = "xaiexp.xai.decoy.Box"
    top: int = MISSING
    left: int = MISSING
    height: int = bounded(MISSING, minimum=1)
    width: int = bounded(MISSING, minimum=1)


@dataclass
class BorderConfig:
    """A decoy region: the frame ``width`` pixels wide along the image's edges."""
    _target_: str = "xaiexp.xai.decoy.Border"
    width: int = bounded(MISSING, minimum=1)


@dataclass
class CosineConfig:
    _target_: str = "xaiexp.schedule.cosine"
    init_lr: float = bounded(1e-3, above=0)
    min_lr: float = bounded(1e-6, minimum=0)
    cycle_length: Optional[int] = bounded(None, minimum=1)  # null: one cycle over the whole run
    # beyond 1e6 a second cycle never comes, and the cycle arithmetic overflows float64
    cycle_multiplier: float = bounded(1.0, minimum=1, maximum=1e6)


@dataclass
class ConstantConfig:
    _target_: str = "xaiexp.schedule.constant"
    init_lr: float = bounded(1e-3, above=0)


def _schemas(*classes, **targets):
    """{target: schema}: each class under its own default target, plus ``targets``."""
    return {**{c._target_: c for c in classes}, **targets}


# Built-in targets -> their schemas. Any other target is a user's, checked by its signature.
TARGET_SCHEMAS = _schemas(
    ShapesConfig, NpzConfig, FolderConfig, TfdsConfig, LeNetConfig, CNNConfig, MobileNetV2Config,
    ResNet50Config, SavedModelConfig, CosineConfig, ConstantConfig, BoxConfig, BorderConfig,
    **{f"xaiexp.dataset.data.{name}.load_data": KerasDatasetConfig
       for name in ("cifar10", "mnist", "fashion_mnist")})


class Split(Enum):
    """What ``xaiexp explain`` explains, in that split's own mode (a pass in training mode would
    run dropout and move batch-norm statistics, so the training split is not offered)."""
    eval = "eval"
    test = "test"


# IG's first steps (doubled to the tolerance, below), SmInt samples (x 2 nodes)
INTEGRATING = (2, 7)


def _chosen(name, default=None, factory=None):
    """The Saliency setting ``name`` (its bounds and choices) with xaiexp's own default."""
    setting = next(item for item in fields(SaliencySettings) if item.name == name)
    if factory is not None:
        return field(default_factory=factory, metadata=setting.metadata)
    return field(default=default, metadata=setting.metadata)


@dataclass
class ExplainConfig(SaliencySettings):
    """The ``explain`` block: the Saliency trace's settings (``xaiexp.xai.saliency_settings``,
    whose defaults are FastEstimator's), with xaiexp's own choices where they differ, below;
    ``experiment=cifar10_saliency`` sets FastEstimator's back."""

    enabled: bool = True  # false (explain=none): no saliency trace (traces.saliency is skipped)
    split: Split = Split.test  # what `xaiexp explain` explains (training explains eval and test)
    samples: int = _chosen("samples", 5)  # probes explained at the end of every eval/test epoch
    # class-stratified and seeded, so an image folder sorted by class shows all its classes
    probes: ProbeChoice = _chosen("probes", "stratified")
    # columns, in order (the overlay shows the last): names of xaiexp.xai's method registry
    methods: List[str] = _chosen("methods", factory=lambda: default_methods(
        DEFAULTS.smoothing, *INTEGRATING))
    integrating: List[int] = _chosen("integrating", factory=lambda: list(INTEGRATING))
    # Gauss-Legendre nodes, Latin-hypercube noise and baselines, IG over 2 random baselines with
    # its steps doubled per image until the attributions add up to f(x) - f(b) within 5 %: as
    # close to high-sample maps as FastEstimator's 726 passes an image, in ~90 (README "Fewer
    # passes, same maps")
    passes: PassOptions = _chosen("passes", factory=lambda: PassOptions(
        rule="gausslegendre", sampling="latin", baselines=2, tolerance=0.05))
    # logged per epoch as xai/<method>/<metric>: names of xaiexp.xai's metric registry
    metrics: List[str] = _chosen("metrics", factory=lambda: list(DEFAULT_METRICS))
    # a class-stratified scoring set of N eval/test images; null: the metrics score the probes
    score_samples: Optional[int] = _chosen("score_samples", 100)
    # eval's scores at the last epoch only (N: also every N-th explained eval epoch)
    score_every: Optional[int] = _chosen("score_every", None)
    # the logit with each image's noise range: the probability saturates, and its SmoothGrad is
    # squared vanilla (README "Explanation quality as numbers")
    output: ExplainedOutput = _chosen("output", "logit")
    noise_range: NoiseRange = _chosen("noise_range", "image")


# The traces entry the explain block sets: conf/traces/saliency.yaml takes every Saliency setting
# as ${explain.<setting>} (EXPLAIN_LINK), and explain.enabled=false drops the entry.
EXPLAINED_TRACE = "saliency"
EXPLAIN_LINK = "explain_link"

# Traces whose arguments are the Saliency settings: an argument of one is checked by that
# setting's field (type, choices, bounds) and the block's cross-field rules, wherever it is set.
TRACE_SCHEMAS = {"xaiexp.trace.xai.Saliency": SaliencySettings}


@dataclass
class TrackingConfig:
    enabled: bool = True
    uri: Optional[str] = None  # null: the embedded SQLite store under outputs/
    experiment: Optional[str] = None  # null: the config's name
    log_model: bool = True


Distribute = Enum("Distribute", {name: name for name in STRATEGIES})
Precision = Enum("Precision", {name: name for name in PRECISIONS})


class Direction(Enum):
    maximize = "maximize"
    minimize = "minimize"


@dataclass
class FloorConfig:
    """A metric the run must reach for its objective to count (e.g. accuracy >= 0.9)."""
    metric: str = "eval/accuracy"
    at_least: Optional[float] = None  # null: no floor


@dataclass
class ObjectiveConfig:
    """What a job returns to a sweeper, and how the sweep's best child is chosen."""
    metric: str = "eval/accuracy"  # <mode>/<logged key> of the final epoch
    direction: Direction = Direction.maximize
    # maximize e.g. relevance mass subject to accuracy: a run below the floor returns the worst
    # value (-inf when maximizing, +inf when minimizing) and cannot be the sweep's best
    subject_to: FloorConfig = field(default_factory=FloorConfig)


@dataclass
class Config:
    name: str = "xaiexp"  # the MLflow experiment (unless tracking.experiment is set)
    run_name: Optional[str] = None  # null: the run is named by what sets it apart
    seed: int = bounded(0, minimum=0, maximum=2 ** 32 - 1)  # NumPy's seeds are uint32
    epochs: int = bounded(5, minimum=1)
    batch_size: int = bounded(32, minimum=1)
    log_steps: int = bounded(100, minimum=0)  # 0 logs epochs only
    # _target_ nodes (see TARGET_SCHEMAS): any keys, checked by validate
    dataset: Dict[str, Any] = field(default_factory=dict)
    model: Dict[str, Any] = field(default_factory=dict)
    optimizer: Dict[str, Any] = field(default_factory=dict)
    schedule: Dict[str, Any] = field(default_factory=dict)
    # name -> _target_ node of a trace (null: off), in order; conf/traces/default.yaml
    traces: Dict[str, Any] = field(default_factory=dict)
    # where a shortcut may sit (conf/decoy/: box, border; or a _target_ of your own); null: none
    decoy: Optional[Dict[str, Any]] = None
    explain: ExplainConfig = field(default_factory=ExplainConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    debug: bool = False  # on an error, show the full traceback instead of one line
    deterministic: bool = False  # TensorFlow op determinism: identical metrics run after run
    resume: Optional[str] = None  # a run id, or "last": continue that interrupted run
    # `xaiexp explain`: a run id, or "last": explain that trained run's logged model, with its
    # config (overrides on the command line change it, e.g. explain.methods=[gradcam])
    explain_run: Optional[str] = None
    distribute: Distribute = Distribute.none  # data-parallel training (tf.distribute)
    precision: Precision = Precision.float32  # the model's dtype policy while training


def register_configs():
    """Make ``config_schema`` (referenced first in conf/config.yaml's defaults) and
    ``explain_link`` (in conf/traces/saliency.yaml's) known to Hydra."""
    store = ConfigStore.instance()
    store.store(name="config_schema", node=Config)
    store.store(name=EXPLAIN_LINK, node={item.name: f"${{explain.{item.name}}}"
                                         for item in fields(SaliencySettings)})


def plain_value(option):
    """An Enum-typed config value's plain string."""
    return getattr(option, "value", option)
