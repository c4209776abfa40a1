"""Config schemas: the top-level keys and blocks.

Registered with Hydra's ConfigStore so an unknown key or a wrong type fails at composition,
naming the key. The groups that make objects (dataset, model, optimizer, schedule) are
``_target_`` nodes, built with ``hydra.utils.instantiate``: a built-in target's arguments are
checked against the schema its module declares (``xaiexp.app.config.components``), a user's own
target against its signature (``xaiexp.app.config.targets``). None of this imports TensorFlow.
"""

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore

from xaiexp.app.config.components import defaults_nodes
from xaiexp.backend.choices import PRECISIONS, STRATEGIES
from xaiexp.util.bounds import bounded
from xaiexp.xai.registry import DEFAULT_METRICS, default_methods
from xaiexp.xai.saliency_settings import (DEFAULTS, ExplainedOutput, NoiseRange, PassOptions,
                                          ProbeChoice, SaliencySettings)


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
    methods: list[str] = _chosen("methods", factory=lambda: default_methods(
        DEFAULTS.smoothing, *INTEGRATING))
    integrating: list[int] = _chosen("integrating", factory=lambda: list(INTEGRATING))
    # Gauss-Legendre nodes, Latin-hypercube noise and baselines, IG over 2 random baselines with
    # its steps doubled per image until the attributions add up to f(x) - f(b) within 5 %: as
    # close to high-sample maps as FastEstimator's 726 passes an image, in ~90 (README "Fewer
    # passes, same maps")
    passes: PassOptions = _chosen("passes", factory=lambda: PassOptions(
        rule="gausslegendre", sampling="latin", baselines=2, tolerance=0.05))
    # logged per epoch as xai/<method>/<metric>: names of xaiexp.xai's metric registry
    metrics: list[str] = _chosen("metrics", factory=lambda: list(DEFAULT_METRICS))
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
    # _target_ nodes (see xaiexp.app.config.components): any keys, checked by validate
    dataset: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    optimizer: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)
    # name -> _target_ node of a trace (null: off), in order; conf/traces/default.yaml
    traces: dict[str, Any] = field(default_factory=dict)
    # where a shortcut may sit (conf/decoy/: box, border; or a _target_ of your own); null: none
    decoy: Optional[dict[str, Any]] = None
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
    ``explain_link`` (in conf/traces/saliency.yaml's) known to Hydra, and each built-in
    component's defaults as plain values under its schema's name (an option YAML's
    ``defaults: [/FolderConfig@_here_, _self_]``), so the YAMLs do not repeat the schemas' values."""
    store = ConfigStore.instance()
    store.store(name="config_schema", node=Config)
    store.store(name=EXPLAIN_LINK, node={item.name: f"${{explain.{item.name}}}"
                                         for item in fields(SaliencySettings)})
    for name, node in defaults_nodes().items():
        store.store(name=name, node=node)


def plain_value(option):
    """An Enum-typed config value's plain string."""
    return getattr(option, "value", option)
