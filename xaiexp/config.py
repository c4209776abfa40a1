"""Config schemas (one dataclass per group) and the checks Hydra's types cannot express.

Registered with Hydra's ConfigStore so an unknown key or a wrong type fails at composition,
naming the key; ``validate`` then checks ranges and cross-field rules. Neither needs
TensorFlow, so a typo costs a fraction of a second.
"""

import difflib
import os
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import List, Optional, get_type_hints

from hydra.core.config_store import ConfigStore


class ConfigError(ValueError):
    """A bad config value: ``key`` names it, the message says what is allowed."""

    def __init__(self, key, message):
        super().__init__(f"{key}: {message}")
        self.key = key


class DatasetName(Enum):
    shapes = "shapes"
    cifar10 = "cifar10"
    mnist = "mnist"
    fashion_mnist = "fashion_mnist"
    npz = "npz"


class ModelName(Enum):
    lenet = "lenet"
    cnn = "cnn"


class ScheduleName(Enum):
    cosine = "cosine"
    constant = "constant"


class OptimizerName(Enum):
    adam = "adam"
    adamw = "adamw"
    sgd = "sgd"
    rmsprop = "rmsprop"


@dataclass
class NormalizeConfig:
    """``Normalize`` op: (x - mean * max_pixel_value) / (std * max_pixel_value)."""
    mean: List[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: List[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    max_pixel_value: float = 255.0


@dataclass
class DatasetConfig:
    name: DatasetName = DatasetName.shapes
    path: Optional[str] = None  # local copy of the official archive (cifar10/mnist/...) or the .npz
    test_split: float = 0.5  # share of the eval split held out as the test split
    n_train: int = 8000  # shapes only
    n_eval: int = 2000  # shapes only
    image_size: int = 32  # shapes only
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)


@dataclass
class ModelConfig:
    name: ModelName = ModelName.lenet
    width: int = 1  # multiplies every layer's filters/units
    dropout: float = 0.0  # cnn only


@dataclass
class ScheduleConfig:
    name: ScheduleName = ScheduleName.cosine
    optimizer: OptimizerName = OptimizerName.adam
    init_lr: float = 1e-3
    min_lr: float = 1e-6
    cycle_length: Optional[int] = None  # steps per cosine cycle; null: the whole run is one cycle
    cycle_multiplier: float = 1.0


@dataclass
class ExplainConfig:
    enabled: bool = True
    samples: int = 5  # probe images explained at the end of every eval/test epoch
    smoothing: int = 25  # SmoothGrad samples; 0 turns the column off
    integrating: List[int] = field(default_factory=lambda: [100, 6])  # IG steps, SmInt samples
    chunk_size: int = 1024  # images per compiled gradient call; bounds memory


@dataclass
class TrackingConfig:
    enabled: bool = True
    uri: Optional[str] = None  # null: the embedded SQLite store under outputs/
    experiment: Optional[str] = None  # null: the config's name
    log_model: bool = True


class Direction(Enum):
    maximize = "maximize"
    minimize = "minimize"


@dataclass
class ObjectiveConfig:
    """What a job returns to a sweeper, and how the sweep's best child is chosen."""
    metric: str = "eval/accuracy"  # <mode>/<logged key> of the final epoch
    direction: Direction = Direction.maximize


@dataclass
class Config:
    name: str = "xaiexp"
    seed: int = 0
    epochs: int = 5
    batch_size: int = 32
    log_steps: int = 100
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    explain: ExplainConfig = field(default_factory=ExplainConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)


def register_configs():
    """Make ``config_schema`` (referenced first in conf/config.yaml's defaults) known to Hydra."""
    ConfigStore.instance().store(name="config_schema", node=Config)


def schema_at(path):
    """The dataclass for a dotted config path (``"schedule"`` -> ScheduleConfig), or None."""
    node = Config
    for part in filter(None, path.split(".")):
        node = get_type_hints(node).get(part) if is_dataclass(node) else None
    return node if is_dataclass(node) else None


def unknown_key_message(full_key):
    """'schedule.init_lrr: unknown key (did you mean init_lr?); allowed: ...'"""
    parent, _, name = full_key.rpartition(".")
    schema = schema_at(parent)
    allowed = [f.name for f in fields(schema)] if schema else []
    guess = difflib.get_close_matches(name, allowed, n=1)
    hint = f" (did you mean {guess[0]}?)" if guess else ""
    listing = f"; allowed: {', '.join(allowed)}" if allowed else ""
    return f"{full_key}: unknown key{hint}{listing}"


def _check(condition, key, message):
    if not condition:
        raise ConfigError(key, message)


def reject_unknown_keys(cfg, schema=Config, prefix=""):
    """Keys added with Hydra's ``+key=value`` bypass the schema: refuse them too."""
    hints = get_type_hints(schema)
    for key in cfg:
        if key not in hints:
            raise ConfigError(f"{prefix}{key}", unknown_key_message(f"{prefix}{key}").partition(": ")[2])
        if is_dataclass(hints[key]):
            reject_unknown_keys(cfg[key], hints[key], f"{prefix}{key}.")


def validate(cfg):
    """Range and cross-field checks on a composed config; raises ConfigError naming the key."""
    reject_unknown_keys(cfg)
    for key in ("epochs", "batch_size"):
        _check(cfg[key] >= 1, key, f"must be >= 1, got {cfg[key]}")
    _check(cfg.log_steps >= 0, "log_steps", f"must be >= 0 (0 logs epochs only), got {cfg.log_steps}")
    data = cfg.dataset
    _check(0 < data.test_split < 1, "dataset.test_split", f"must be in (0, 1), got {data.test_split}")
    for key in ("n_train", "n_eval", "image_size"):
        _check(data[key] >= 1, f"dataset.{key}", f"must be >= 1, got {data[key]}")
    name = data.name.value if isinstance(data.name, Enum) else data.name
    if name == "npz":
        _check(data.path is not None, "dataset.path", "dataset=npz needs dataset.path=/path/to/data.npz")
    if data.path is not None:
        _check(os.path.exists(os.path.expanduser(data.path)), "dataset.path",
               f"no such file or folder: {data.path}")
    _check(len(data.normalize.mean) >= 1 and len(data.normalize.std) >= 1, "dataset.normalize",
           "mean and std need at least one value")
    _check(all(s > 0 for s in data.normalize.std), "dataset.normalize.std", "values must be > 0")
    _check(cfg.model.width >= 1, "model.width", f"must be >= 1, got {cfg.model.width}")
    _check(0 <= cfg.model.dropout < 1, "model.dropout", f"must be in [0, 1), got {cfg.model.dropout}")
    schedule = cfg.schedule
    _check(schedule.init_lr > 0, "schedule.init_lr", f"must be > 0, got {schedule.init_lr}")
    _check(0 <= schedule.min_lr <= schedule.init_lr, "schedule.min_lr",
           f"must be in [0, init_lr={schedule.init_lr}], got {schedule.min_lr}")
    if schedule.cycle_length is not None:
        _check(schedule.cycle_length >= 1, "schedule.cycle_length",
               f"must be >= 1 or null, got {schedule.cycle_length}")
    _check(schedule.cycle_multiplier >= 1, "schedule.cycle_multiplier",
           f"must be >= 1, got {schedule.cycle_multiplier}")
    mode, _, key = cfg.objective.metric.partition("/")
    _check(mode in ("eval", "test") and key, "objective.metric",
           f"must be eval/<key> or test/<key> (e.g. eval/accuracy), got {cfg.objective.metric!r}")
    explain = cfg.explain
    _check(explain.samples >= 1, "explain.samples", f"must be >= 1, got {explain.samples}")
    _check(explain.smoothing >= 0, "explain.smoothing", f"must be >= 0, got {explain.smoothing}")
    integrating = list(explain.integrating)
    _check(len(integrating) in (1, 2) and all(v >= 0 for v in integrating), "explain.integrating",
           f"must be [steps] or [steps, smint_samples], each >= 0, got {integrating}")
    _check(explain.chunk_size >= 1, "explain.chunk_size", f"must be >= 1, got {explain.chunk_size}")


def project_root():
    """Where ``outputs/`` lives: $XAIEXP_HOME, else the source checkout xaiexp runs from, else
    the working directory. One place, so runs from any directory land in one MLflow store."""
    if os.environ.get("XAIEXP_HOME"):
        return str(Path(os.environ["XAIEXP_HOME"]).expanduser().resolve())
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists() and (checkout / "conf").is_dir():
        return str(checkout)
    return str(Path.cwd())
