"""Config schemas: the top-level keys and blocks.

Registered with Hydra's ConfigStore so an unknown key or a wrong type fails at composition,
naming the key. The groups that make objects (dataset, model, optimizer, schedule) are
``_target_`` nodes, built with ``hydra.utils.instantiate``: a built-in target's arguments are
checked against the schema its module declares (``xaiexp.app.config.components``), a user's own
target against its signature (``xaiexp.app.config.targets``). None of this imports TensorFlow.
"""

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from xaiexp.dataset.keys import NormalizeConfig
from xaiexp.util.bounds import bounded
from xaiexp.xai.kinds import PassOptions
from xaiexp.xai.registry import (DEFAULT_METRICS, FAITHFULNESS_BASELINES, NOISE_RANGES, OUTPUTS,
                                  PROBE_CHOICES, default_methods)


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
class OcclusionConfig:
    patch: int = bounded(4, minimum=1)  # side of the square hidden at a time, in pixels
    stride: int = bounded(4, minimum=1)  # pixels between squares


class Split(Enum):
    """What ``xaiexp explain`` explains, in that split's own mode (a pass in training mode would
    run dropout and move batch-norm statistics, so the training split is not offered)."""
    eval = "eval"
    test = "test"


# The choices the xai registry offers, as config enums (so a typo names the allowed values)
ExplainedOutput = Enum("ExplainedOutput", {name: name for name in OUTPUTS})
ProbeChoice = Enum("ProbeChoice", {name: name for name in PROBE_CHOICES})
NoiseRange = Enum("NoiseRange", {name: name for name in NOISE_RANGES})
Baseline = Enum("Baseline", {name: name for name in FAITHFULNESS_BASELINES})


@dataclass
class ExplainConfig:
    enabled: bool = True
    samples: int = bounded(5, minimum=1)  # probes explained at the end of every eval/test epoch
    # how the probes are chosen: class-stratified and seeded, or the first images (FastEstimator's)
    probes: ProbeChoice = ProbeChoice.stratified
    # columns, in order (the overlay shows the last): names of xaiexp.xai's method registry
    methods: List[str] = field(default_factory=lambda: default_methods(25, 100, 6))
    smoothing: int = bounded(25, minimum=0)  # SmoothGrad and VarGrad samples
    integrating: List[int] = field(default_factory=lambda: [100, 6])  # IG steps, SmInt samples
    # quadrature rule, sampling of noise and baselines, IG baselines, completeness tolerance:
    # xaiexp.xai's own dataclass, so an option is added there alone
    passes: PassOptions = field(default_factory=PassOptions)
    occlusion: OcclusionConfig = field(default_factory=OcclusionConfig)
    chunk_size: int = bounded(1024, minimum=1)  # images per compiled gradient call
    # logged per epoch as xai/<method>/<metric>: names of xaiexp.xai's metric registry
    metrics: List[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    split: Split = Split.test  # what `xaiexp explain` explains (training explains eval and test)
    every: int = bounded(1, minimum=1)  # explain every N-th eval epoch (always the last, and test)
    # a class-stratified scoring set of N eval/test images; null: the metrics score the probes
    score_samples: Optional[int] = bounded(100, minimum=1)
    # score SmInt and Occlusion every N-th eval epoch only (always the last, and test)
    heavy_every: int = bounded(1, minimum=1)
    # compute the metrics every N-th explained eval epoch (always the last, and test); null: only
    # then — the other epochs paint the figure alone
    score_every: Optional[int] = bounded(1, minimum=1)
    # what the gradients explain: the target's softmax probability (FastEstimator's) or logit
    output: ExplainedOutput = ExplainedOutput.probability
    # whose value range scales noise and baselines: the probe batch's (FastEstimator's) or each image's
    noise_range: NoiseRange = NoiseRange.batch
    deletion_baseline: Baseline = Baseline.black  # what deleted pixels become
    insertion_baseline: Baseline = Baseline.blur  # what inserted pixels start from
    # a pointing-game maximum this many pixels from the mask still hits (Zhang et al. use 15)
    pointing_tolerance: float = bounded(0.0, minimum=0)
    # the randomization metrics also re-initialize only the top k layers, for every k
    cascading: bool = False


# Traces whose arguments a config block sets in short form (conf/traces/saliency.yaml maps
# explain.* onto traces.saliency): an argument named like a field of the block is checked by that
# field (type, choices, bounds) and the block's cross-field rules, wherever the trace is set.
TRACE_SCHEMAS = {"xaiexp.trace.xai.Saliency": ExplainConfig}


@dataclass
class TrackingConfig:
    enabled: bool = True
    uri: Optional[str] = None  # null: the embedded SQLite store under outputs/
    experiment: Optional[str] = None  # null: the config's name
    log_model: bool = True


class Distribute(Enum):
    none = "none"  # one device
    mirrored = "mirrored"  # data-parallel over the GPUs (else the logical CPUs) of this machine
    multi_worker = "multi_worker"  # data-parallel over the machines described by $TF_CONFIG


class Precision(Enum):
    """Keras dtype policies (README "GPU machines"): mixed ones compute in 16 bits, keep float32
    weights and a float32 final layer, so saliency maps and scores stay float32."""
    float32 = "float32"
    mixed_float16 = "mixed_float16"  # NVIDIA GPUs with tensor cores (compute capability >= 7)
    mixed_bfloat16 = "mixed_bfloat16"  # TPUs, NVIDIA Ampere and newer, CPUs with AMX/AVX512-BF16


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
    """Make ``config_schema`` (referenced first in conf/config.yaml's defaults) known to Hydra,
    and ``imagenet_normalize``, the default normalization, as plain values (a dataset YAML's
    ``defaults: [/imagenet_normalize@normalize]``), so the YAMLs do not repeat ImageNet's numbers."""
    ConfigStore.instance().store(name="config_schema", node=Config)
    ConfigStore.instance().store(name="imagenet_normalize",
                                 node=OmegaConf.to_container(OmegaConf.structured(NormalizeConfig)))


def plain_value(option):
    """An Enum-typed config value's plain string."""
    return getattr(option, "value", option)
