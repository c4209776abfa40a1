"""Config schemas (one dataclass per group) and the checks Hydra's types cannot express.

Registered with Hydra's ConfigStore so an unknown key or a wrong type fails at composition,
naming the key; ``validate`` then checks ranges and cross-field rules (and
``xaiexp.preflight`` what the config points at). None needs TensorFlow, so a typo costs a
fraction of a second.
"""

import difflib
import functools
import math
import os
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import List, Optional, Union, get_args, get_origin, get_type_hints

from hydra.core.config_store import ConfigStore


def one_line(text):
    """``text`` on one line: newlines and other control characters escaped as in a repr."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class ConfigError(ValueError):
    """A bad config value: ``key`` names it, the message says what is allowed (one line)."""

    def __init__(self, key, message):
        super().__init__(one_line(f"{key}: {message}"))
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
    # Names of labels 0, 1, ...: replace the dataset's own (in plots and logs). As many distinct,
    # non-empty names as the dataset has classes (shapes 5, cifar10/mnist/fashion_mnist 10, npz:
    # its class_names, else its largest label + 1); checked before training starts.
    class_names: Optional[List[str]] = None
    test_split: float = 0.5  # share of the eval split held out as the test split
    n_train: int = 8000  # shapes only
    n_eval: int = 2000  # shapes only
    image_size: int = 32  # shapes only
    # shapes only: a class-coded pattern patch in a corner of every train/eval image, repainted
    # at random in the test split (experiment=shortcut_detection)
    shortcut: bool = False
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


class ExplainMethod(Enum):
    """Saliency trace columns (xaiexp.xai.method_set.METHODS)."""
    vanilla = "vanilla"
    smoothgrad = "smoothgrad"
    integrated = "integrated"
    smint = "smint"
    gradient_x_input = "gradient_x_input"
    vargrad = "vargrad"
    gradcam = "gradcam"
    occlusion = "occlusion"


class ExplainMetric(Enum):
    """Scores of each method's maps (xaiexp.xai.metrics.scorecard.METRICS)."""
    relevance_mass = "relevance_mass"
    pointing_game = "pointing_game"
    deletion_auc = "deletion_auc"
    insertion_auc = "insertion_auc"
    randomization = "randomization"
    completeness = "completeness"


@dataclass
class OcclusionConfig:
    patch: int = 4  # side of the square hidden at a time, in pixels
    stride: int = 4  # pixels between squares


@dataclass
class ExplainConfig:
    enabled: bool = True
    samples: int = 5  # probe images explained at the end of every eval/test epoch
    # columns, in order (the overlay shows the last)
    methods: List[ExplainMethod] = field(default_factory=lambda: [
        ExplainMethod.vanilla, ExplainMethod.smoothgrad, ExplainMethod.integrated, ExplainMethod.smint])
    smoothing: int = 25  # SmoothGrad and VarGrad samples
    integrating: List[int] = field(default_factory=lambda: [100, 6])  # IG steps, SmInt samples
    occlusion: OcclusionConfig = field(default_factory=OcclusionConfig)
    chunk_size: int = 1024  # images per compiled gradient call; bounds memory
    # logged per epoch as xai/<method>/<metric>; relevance_mass and pointing_game need the
    # dataset's object masks (shapes, npz with `mask`) and are skipped without them
    metrics: List[ExplainMetric] = field(default_factory=lambda: [
        ExplainMetric.relevance_mass, ExplainMetric.pointing_game, ExplainMetric.deletion_auc,
        ExplainMetric.insertion_auc])


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
    debug: bool = False  # on an error, show the full traceback instead of one line
    deterministic: bool = False  # TensorFlow op determinism: identical metrics run after run
    resume: Optional[str] = None  # a run id, or "last": continue that interrupted run
    distribute: Distribute = Distribute.none  # data-parallel training (tf.distribute)


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
    if name in allowed:  # Hydra says "not in" when asked to delete a key the schema requires
        return f"{full_key}: cannot be removed (every key of the schema has a value); set it instead"
    guess = difflib.get_close_matches(name, allowed, n=1)
    hint = f" (did you mean {guess[0]}?)" if guess else ""
    listing = f"; allowed: {', '.join(allowed)}" if allowed else ""
    return f"{full_key}: unknown key{hint}{listing}"


def require(condition, key, message):
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


def check_overrides(overrides):
    """Refuse, naming the group, what Hydra would answer with a bare ValueError that names
    nothing: a config group given a number, boolean or null (``dataset=3``), and an override
    with no key (``=3``); and ``~epochs`` (a schema key: re-added, it would lose its type). Call inside Hydra's initialize context: it asks Hydra's config loader
    which groups exist."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    loader = GlobalHydra.instance().config_loader()
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        group = override.key_or_group
        if not group:
            raise ConfigError(override.input_line, "no key before '='; expected key=value")
        parent, _, name = group.rpartition(".")
        if (override.is_delete() and not loader.repository.group_exists(group)
                and (schema := schema_at(parent)) and name in {f.name for f in fields(schema)}):
            raise ConfigError(group, unknown_key_message(group).partition(": ")[2])
        if override.is_sweep_override():
            continue
        value = override.value()
        if isinstance(value, (str, dict)) or (value is None if override.is_delete() else (
                isinstance(value, list) and all(isinstance(item, str) for item in value))):
            continue
        if loader.repository.group_exists(group):
            options = ", ".join(sorted(loader.get_group_options(group)))
            raise ConfigError(group, f"a config group takes an option name, got "
                                     f"{override.get_value_element_as_str()!r}; choose from {options}")


def plain_value(option):
    """An Enum-typed config value's plain string."""
    return getattr(option, "value", option)


MAX_INT = 2 ** 31 - 1  # counts beyond this overflow TensorFlow's int32 shapes
_INT_LIMITS = {"seed": 2 ** 32 - 1}  # NumPy's seeds are uint32
MIN_IMAGE_SIZE = {"lenet": 18, "cnn": 4}  # smallest side each architecture's layers can take


def _check_numbers(cfg, schema=Config, prefix=""):
    """Every float finite (no nan/inf), every int within MAX_INT, whatever the key. Reads
    only numeric keys (a string may hold ``${hydra:...}``, resolvable in the job only)."""
    for name, hint in get_type_hints(schema).items():
        key = f"{prefix}{name}"
        if is_dataclass(hint):
            _check_numbers(cfg[name], hint, f"{key}.")
            continue
        if get_origin(hint) is Union:  # Optional[X]
            hint = next(arg for arg in get_args(hint) if arg is not type(None))
        many = get_origin(hint) in (list, List)
        kind = get_args(hint)[0] if many else hint
        if kind not in (int, float) or cfg[name] is None:
            continue
        limit = _INT_LIMITS.get(key, MAX_INT)
        for item in (list(cfg[name]) if many else [cfg[name]]):
            if kind is float:
                require(math.isfinite(item), key, f"must be a finite number, got {item}")
            else:
                require(abs(item) <= limit, key, f"must be at most {limit}, got {item}")


def _check_types(cfg):
    """Every value has its schema type, even one a config file or override removed and added
    again (``~epochs +epochs=x``), which Hydra no longer types."""
    from omegaconf import OmegaConf

    OmegaConf.merge(_typed_schema(), cfg)


@functools.lru_cache(maxsize=1)
def _typed_schema():
    from omegaconf import OmegaConf

    return OmegaConf.structured(Config)


def _check_interpolations(cfg):
    """Resolve every ``${...}`` now, so a bad one fails here, not after TensorFlow starts."""
    from omegaconf import OmegaConf
    from omegaconf.errors import InterpolationResolutionError

    try:
        OmegaConf.to_container(cfg, resolve=True)
    except InterpolationResolutionError as error:
        if "HydraConfig was not set" not in str(error):  # ${hydra:...}: resolvable in the job only
            raise


def validate(cfg):
    """Range and cross-field checks on a composed config; raises ConfigError naming the key.

    Pure and fast: reads nothing but ``cfg`` (see ``check_resources`` for files and servers).
    """
    from omegaconf import OmegaConf

    reject_unknown_keys(cfg)
    _check_types(cfg)
    _check_interpolations(cfg)
    _check_numbers(cfg)
    if not OmegaConf.is_interpolation(cfg, "name"):  # ${hydra:...} resolves in the job only
        require(cfg.name.strip() != "", "name", "must not be empty (it names the MLflow experiment)")
    require(0 <= cfg.seed <= 2 ** 32 - 1, "seed", f"must be in [0, 2**32 - 1], got {cfg.seed}")
    for key in ("epochs", "batch_size"):
        require(cfg[key] >= 1, key, f"must be >= 1, got {cfg[key]}")
    require(cfg.log_steps >= 0, "log_steps", f"must be >= 0 (0 logs epochs only), got {cfg.log_steps}")
    data = cfg.dataset
    require(0 < data.test_split < 1, "dataset.test_split", f"must be in (0, 1), got {data.test_split}")
    for key in ("n_train", "n_eval", "image_size"):
        require(data[key] >= 1, f"dataset.{key}", f"must be >= 1, got {data[key]}")
    name, model = plain_value(data.name), plain_value(cfg.model.name)
    if name == "npz":
        require(data.path is not None, "dataset.path", "dataset=npz needs dataset.path=/path/to/data.npz")
    require(name == "shapes" or not data.shortcut, "dataset.shortcut",
            f"only the embedded shapes dataset has a shortcut option, got dataset={name}")
    if name == "shapes":
        smallest = MIN_IMAGE_SIZE.get(model, 1)
        require(data.image_size >= smallest, "dataset.image_size",
               f"model={model} needs images of at least {smallest}x{smallest}, got {data.image_size}")
    if data.class_names is not None:
        names = list(data.class_names)
        require(names and all(n.strip() for n in names) and len(set(names)) == len(names),
               "dataset.class_names", f"must be distinct, non-empty names, got {names}")
    require(len(data.normalize.mean) >= 1 and len(data.normalize.std) >= 1, "dataset.normalize",
           "mean and std need at least one value")
    require(all(s > 0 for s in data.normalize.std), "dataset.normalize.std", "values must be > 0")
    require(data.normalize.max_pixel_value > 0, "dataset.normalize.max_pixel_value",
           f"must be > 0, got {data.normalize.max_pixel_value}")
    require(cfg.model.width >= 1, "model.width", f"must be >= 1, got {cfg.model.width}")
    require(0 <= cfg.model.dropout < 1, "model.dropout", f"must be in [0, 1), got {cfg.model.dropout}")
    schedule = cfg.schedule
    require(schedule.init_lr > 0, "schedule.init_lr", f"must be > 0, got {schedule.init_lr}")
    require(0 <= schedule.min_lr <= schedule.init_lr, "schedule.min_lr",
           f"must be in [0, init_lr={schedule.init_lr}], got {schedule.min_lr}")
    if schedule.cycle_length is not None:
        require(schedule.cycle_length >= 1, "schedule.cycle_length",
               f"must be >= 1 or null, got {schedule.cycle_length}")
    require(schedule.cycle_multiplier >= 1, "schedule.cycle_multiplier",
           f"must be >= 1, got {schedule.cycle_multiplier}")
    for key, metric in (("objective.metric", cfg.objective.metric),
                        ("objective.subject_to.metric", cfg.objective.subject_to.metric)):
        mode, _, logged = metric.partition("/")
        require(mode in ("eval", "test") and logged, key,
               f"must be eval/<key> or test/<key> (e.g. eval/accuracy), got {metric!r}")
    explain = cfg.explain
    require(explain.samples >= 1, "explain.samples", f"must be >= 1, got {explain.samples}")
    require(explain.smoothing >= 0, "explain.smoothing", f"must be >= 0, got {explain.smoothing}")
    integrating = list(explain.integrating)
    require(len(integrating) in (1, 2) and all(v >= 0 for v in integrating), "explain.integrating",
           f"must be [steps] or [steps, smint_samples], each >= 0, got {integrating}")
    require(explain.chunk_size >= 1, "explain.chunk_size", f"must be >= 1, got {explain.chunk_size}")
    _check_explain_methods(explain, integrating)


def _check_explain_methods(explain, integrating):
    """Each chosen method has the samples or steps it needs (what the trace would refuse later)."""
    methods = [plain_value(m) for m in explain.methods]
    require(methods, "explain.methods", f"must name at least one of "
                                        f"{', '.join(m.value for m in ExplainMethod)} (or explain=none)")
    steps, smint_samples = (integrating + [explain.smoothing])[:2]
    needs = [("smoothgrad", "explain.smoothing", explain.smoothing),
             ("vargrad", "explain.smoothing", explain.smoothing),
             ("integrated", "explain.integrating[0]", steps), ("smint", "explain.integrating[0]", steps),
             ("smint", "explain.integrating[1]" if len(integrating) > 1 else "explain.smoothing",
              smint_samples)]
    for method, key, value in needs:
        require(method not in methods or value >= 1, key,
                f"must be >= 1 while explain.methods has {method}, got {value}; raise it or "
                f"remove {method} from explain.methods")
    occlusion = explain.occlusion
    for key in ("patch", "stride"):
        require(occlusion[key] >= 1, f"explain.occlusion.{key}", f"must be >= 1, got {occlusion[key]}")


def project_root():
    """Where ``outputs/`` lives: $XAIEXP_HOME, else the source checkout xaiexp runs from, else
    the working directory. One place, so runs from any directory land in one MLflow store."""
    if os.environ.get("XAIEXP_HOME"):
        return str(Path(os.environ["XAIEXP_HOME"]).expanduser().resolve())
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists() and (checkout / "conf").is_dir():
        return str(checkout)
    return str(Path.cwd())
