"""The checks Hydra's types cannot express, on a composed config: ranges, ``_target_`` nodes,
cross-field rules. Each failure is a ConfigError naming the key; nothing here imports
TensorFlow or reads a file (``preflight`` checks what the config points at)."""

import difflib
import functools
import math
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Union, get_args, get_origin, get_type_hints

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError, OmegaConfBaseException

from xaiexp.app.config.components import target_schemas
from xaiexp.app.config.schema import (RUNNER_ARGUMENTS, TARGET_GROUPS, TRACE_SCHEMAS, Config,
                               plain_value)
from xaiexp.app.config.targets import TargetNotFound, signature
from xaiexp.app.config.tracked import experiment_name
from xaiexp.tracking.limits import MAX_EXPERIMENT_NAME, MAX_RUN_NAME
from xaiexp.architecture.keys import ModelKeys
from xaiexp.dataset.keys import DatasetKeys
from xaiexp.util.errors import ConfigError

MAX_INT = 2 ** 31 - 1  # counts beyond this overflow TensorFlow's int32 shapes
HYDRA_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_")
OWN_KEYS = {"dataset": DatasetKeys, "model": ModelKeys}  # a group's keys that xaiexp reads itself


def require(condition, key, message):
    if not condition:
        raise ConfigError(key, message)


def schema_at(path):
    """The dataclass for a dotted config path (``"explain"`` -> ExplainConfig), or None."""
    node = Config
    for part in filter(None, path.split(".")):
        node = get_type_hints(node).get(part) if is_dataclass(node) else None
    return node if is_dataclass(node) else None


def unknown_key_message(full_key, allowed=None):
    """'explain.smaples: unknown key (did you mean samples?); allowed: ...'"""
    parent, _, name = full_key.rpartition(".")
    if allowed is None:
        schema = schema_at(parent)
        allowed = [f.name for f in fields(schema)] if schema else []
        if name in allowed:  # Hydra says "not in" when asked to delete a key the schema requires
            return f"{full_key}: cannot be removed (every key of the schema has a value); set it instead"
    guess = difflib.get_close_matches(name, allowed, n=1)
    hint = f" (did you mean {guess[0]}?)" if guess else ""
    listing = f"; allowed: {', '.join(allowed)}" if allowed else ""
    return f"{full_key}: unknown key{hint}{listing}"


def reject_unknown_keys(cfg, schema=Config, prefix=""):
    """Keys added with Hydra's ``+key=value`` bypass the schema: refuse them too."""
    hints = get_type_hints(schema)
    for key in cfg:
        if key not in hints:
            raise ConfigError(f"{prefix}{key}", unknown_key_message(
                f"{prefix}{key}", [f.name for f in fields(schema)]).partition(": ")[2])
        if is_dataclass(hints[key]) and isinstance(cfg[key], DictConfig):
            reject_unknown_keys(cfg[key], hints[key], f"{prefix}{key}.")


def check_overrides(overrides):
    """Refuse, naming the group, what Hydra would answer with a bare ValueError that names
    nothing: a config group given a number, boolean or null (``dataset=3``), and an override
    with no key (``=3``); and ``~epochs`` (a schema key: re-added, it would lose its type). Call
    inside Hydra's initialize context: it asks Hydra's config loader which groups exist."""
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


def _check_values(cfg, schema, prefix=""):
    """Every number of a typed node: finite, within MAX_INT, within its field's bounds; and
    every value whose field lists its ``choices`` (a name of a registry): one of them."""
    for item in fields(schema):
        key, hint = f"{prefix}{item.name}", get_type_hints(schema)[item.name]
        if item.name not in cfg:
            continue
        value = cfg[item.name]
        if get_origin(hint) is Union:  # Optional[X]
            hint = next(arg for arg in get_args(hint) if arg is not type(None))
        if is_dataclass(hint):
            if value is not None:
                _check_values(value, hint, f"{key}.")
            continue
        choices = item.metadata.get("choices")
        if choices is not None:
            require(value in choices, key, f"must be one of {', '.join(choices)}, got {value!r}")
            continue
        many = get_origin(hint) in (list, list)
        kind = get_args(hint)[0] if many else hint
        if kind not in (int, float) or value is None:
            continue
        for number in (list(value) if many else [value]):
            _check_number(key, number, kind, item.metadata)


def _check_number(key, value, kind, bounds):
    if kind is float:
        require(math.isfinite(value), key, f"must be a finite number, got {value}")
    elif "maximum" not in bounds:
        require(abs(value) <= MAX_INT, key, f"must be at most {MAX_INT}, got {value}")
    rules = {"minimum": (lambda v, b: v >= b, ">="), "above": (lambda v, b: v > b, ">"),
             "below": (lambda v, b: v < b, "<"), "maximum": (lambda v, b: v <= b, "<=")}
    if any(name in bounds and not holds(value, bounds[name]) for name, (holds, _) in rules.items()):
        wanted = " and ".join(f"{sign} {bounds[name]:{'g' if isinstance(bounds[name], float) else 'd'}}"
                              for name, (_, sign) in rules.items() if name in bounds)
        raise ConfigError(key, f"must be {wanted}, got {value}")


def _typed(cfg, schema, prefix):
    """``cfg`` merged onto ``schema``: a wrong type fails naming the key, under ``prefix``."""
    try:
        return OmegaConf.merge(_structured(schema), cfg)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or next(  # a merge error names no key: find it
            (key for key in cfg if not _merges(schema, {key: cfg[key]})), "")
        raise ConfigError(f"{prefix}{key}".rstrip("."),
                          (str(error).splitlines() or [type(error).__name__])[0]) from None


def _merges(schema, part):
    try:
        OmegaConf.merge(_structured(schema), part)
        return True
    except OmegaConfBaseException:
        return False


@functools.cache
def _structured(schema):
    return OmegaConf.structured(schema)


def _check_interpolations(cfg):
    """Resolve every ``${...}`` now, so a bad one fails here, not after TensorFlow starts."""
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except InterpolationResolutionError as error:
        if "HydraConfig was not set" not in str(error):  # ${hydra:...}: resolvable in the job only
            raise
    for key in sorted(OmegaConf.missing_keys(cfg)):
        raise ConfigError(key, f"is required: set it, e.g. {key}=...")


def target_arguments(node, group):
    """The keys of a ``_target_`` node that are arguments of its target."""
    own = OWN_KEYS[group].OWN if group in OWN_KEYS else ()
    return [key for key in node if key not in HYDRA_KEYS and key not in own]


def dataset_keys(data):
    """The dataset node's own keys (test_split, class_names, normalize), defaults filled in."""
    return OmegaConf.merge(_structured(DatasetKeys), resolved(data, DatasetKeys.OWN))


def model_keys(model):
    """The model node's own keys (logits), defaults filled in."""
    return OmegaConf.merge(_structured(ModelKeys), resolved(model, ModelKeys.OWN))


def resolved(node, keys=None):
    """``node`` (or its ``keys``) as plain data, interpolations resolved against the whole config
    (checked by now), so that it can be merged onto a schema of its own."""
    try:
        plain = OmegaConf.to_container(node, resolve=True, enum_to_str=True)
    except InterpolationResolutionError:  # ${hydra:...}: resolvable in the job only
        plain = OmegaConf.to_container(node, enum_to_str=True)
    return {key: value for key, value in plain.items() if keys is None or key in keys}


def check_target(node, group, key=None):
    """``node`` (``key``, by default ``group``) names a callable that exists and takes its
    arguments: a built-in's checked by its schema (types, bounds), a user's by its signature,
    read without importing it."""
    key = key or group
    require(isinstance(node, DictConfig), key, f"expected a _target_ node, got {node!r}")
    target = node.get("_target_")
    require(isinstance(target, str) and target.strip(), f"{key}._target_",
            f"missing: choose a {group} option ({group}=...) or name a callable with "
            f"{key}._target_=package.module.function")
    schema = target_schemas().get(target)
    if schema is None and group in OWN_KEYS:  # a user's target: its keys that xaiexp reads
        keys = OWN_KEYS[group]
        _check_values(_typed(resolved(node, keys.OWN), keys, f"{key}."), keys, f"{key}.")
    if schema is not None:
        reject_unknown_keys(OmegaConf.masked_copy(node, [k for k in node if k not in HYDRA_KEYS[1:]]),
                            schema, f"{key}.")
        _check_values(_typed(resolved(node), schema, f"{key}."), schema, f"{key}.")
        return
    try:
        params = signature(target)
    except TargetNotFound as error:
        raise ConfigError(f"{key}._target_", str(error)) from None
    if params is None:
        return
    given = target_arguments(node, group)
    for name in given:
        if not params.accepts(name):
            guess = difflib.get_close_matches(name, params.names, n=1)
            hint = f" (did you mean {guess[0]}?)" if guess else ""
            raise ConfigError(f"{key}.{name}", f"not an argument of {target}{hint}; it takes: "
                                               f"{', '.join(params.names) or 'no arguments'}")
    supplied = RUNNER_ARGUMENTS[group]
    if node.get("_partial_"):  # a callable the code calls later, with the rest of its arguments
        return
    for name in params.required:
        require(name in given or name in supplied, f"{key}.{name}",
                f"{target} requires it: set it with +{key}.{name}=...")


def validate(cfg):
    """Range and cross-field checks on a composed config; raises ConfigError naming the key."""
    reject_unknown_keys(cfg)
    OmegaConf.merge(_structured(Config), cfg)  # types, even of keys removed and added again
    _check_interpolations(cfg)
    _check_values(cfg, Config)
    for group in TARGET_GROUPS:
        check_target(cfg[group], group)
    if cfg.decoy is not None:
        check_target(cfg.decoy, "decoy")
    _check_explain(cfg.explain)  # before the traces that take its values
    for name, node in cfg.traces.items():
        if node is not None:
            check_target(node, "traces", f"traces.{name}")
            _check_short_forms(node, f"traces.{name}")
    if not OmegaConf.is_interpolation(cfg, "name"):  # ${hydra:...} resolves in the job only
        require(cfg.name.strip() != "", "name", "must not be empty (it names the MLflow experiment)")
    if cfg.run_name is not None and not OmegaConf.is_interpolation(cfg, "run_name"):
        require(0 < len(cfg.run_name.strip()) <= MAX_RUN_NAME, "run_name",
                f"names the MLflow run: 1 to {MAX_RUN_NAME} characters (null: named by what sets the "
                f"run apart), got {len(cfg.run_name.strip())}")
    _check_experiment_name(cfg)
    _check_dataset(cfg.dataset)
    _check_backbone(resolved(cfg.model))
    schedule = cfg.schedule
    if "init_lr" in schedule and "min_lr" in schedule:
        require(schedule.min_lr <= schedule.init_lr, "schedule.min_lr",
                f"must be in [0, init_lr={schedule.init_lr}], got {schedule.min_lr}")
    for key, metric in (("objective.metric", cfg.objective.metric),
                        ("objective.subject_to.metric", cfg.objective.subject_to.metric)):
        mode, _, logged = metric.partition("/")
        require(mode in ("eval", "test") and logged, key,
                f"must be eval/<key> or test/<key> (e.g. eval/accuracy), got {metric!r}")
    _check_cadence(cfg.traces)


def _check_experiment_name(cfg):
    """The MLflow experiment's name (``tracking.experiment``, by default ``name``) fits MLflow."""
    tracking = cfg.tracking
    if not tracking.enabled or OmegaConf.is_interpolation(cfg, "name"):  # ${hydra:...}: in the job
        return
    key = "name" if OmegaConf.is_interpolation(tracking, "experiment") or not tracking.experiment \
        else "tracking.experiment"
    length = len(experiment_name(cfg))
    require(length <= MAX_EXPERIMENT_NAME, key, f"names the MLflow experiment, which MLflow limits to "
                                                f"{MAX_EXPERIMENT_NAME} characters; got {length}")


def _check_cadence(traces):
    """A trace that watches an ``xai/`` metric every epoch (e.g. the best-model saver's
    ``metric``) needs every explaining trace to run and score every epoch (``every`` and
    ``score_every`` 1), and to score
    a heavy method every epoch (``heavy_every`` 1) when the metric is that method's."""
    from xaiexp.xai.registry import explained_method, heavy_method_names, metric_key

    entries = {name: resolved(node) for name, node in traces.items() if node is not None}
    watchers = [(name, args["metric"]) for name, args in entries.items()
                if explained_method(str(args.get("metric")))]
    for watcher, metric in watchers:
        for name, args in entries.items():
            heavy = {metric_key(method, args.get("outputs", "saliency"))
                     for method in heavy_method_names()}
            for cadence in ("every", "score_every", "heavy_every"):
                if args.get(cadence, 1) != 1 and (cadence != "heavy_every" or explained_method(metric) in heavy):
                    key = f"explain.{cadence}" if OmegaConf.is_interpolation(traces[name], cadence) \
                        else f"traces.{name}.{cadence}"
                    raise ConfigError(key, f"must be 1 while traces.{watcher}.metric is {metric} "
                                           f"(it needs a value every epoch)")


def _check_backbone(model):
    """A frozen backbone needs weights: a random one never learns (only its head trains, on
    random features)."""
    require(not (model.get("freeze_backbone") and "weights" in model and model["weights"] is None),
            "model.freeze_backbone", "true with model.weights=null freezes a random backbone, which "
            "never learns: train it too (model.freeze_backbone=false) or give weights (model.weights="
            "imagenet or a weights file)")


def _check_dataset(data):
    own = dataset_keys(data)
    if own.class_names is not None:
        names = list(own.class_names)
        require(names and all(n.strip() for n in names) and len(set(names)) == len(names),
                "dataset.class_names", f"must be distinct, non-empty names, got {names}")
    normalize = own.normalize
    if normalize is not None:
        require(len(normalize.mean) >= 1 and len(normalize.std) >= 1, "dataset.normalize",
                "mean and std need at least one value")
        require(all(s > 0 for s in normalize.std), "dataset.normalize.std", "values must be > 0")


def _check_short_forms(node, key):
    """A trace of TRACE_SCHEMAS: the arguments it is given itself (not through ``${...}``, whose
    source is checked where it is set) pass the checks of the block's fields of the same name."""
    schema = TRACE_SCHEMAS.get(node.get("_target_"))
    if schema is None:
        return
    names = {item.name: item for item in fields(schema)}
    values = {name: value for name, value in resolved(node).items() if name in names and value is not None}
    if all(OmegaConf.is_interpolation(node, name) for name in values):
        return
    hints = get_type_hints(schema)
    typed = _typed({name: _as_field(value, hints[name]) for name, value in values.items()}, schema, f"{key}.")
    _check_values(typed, schema, f"{key}.")
    if "methods" not in values:  # the trace's own choice: the default methods its settings allow
        from xaiexp.xai.registry import default_methods

        steps, smint_samples = (list(typed.integrating) + [typed.smoothing])[:2]
        typed.methods = default_methods(typed.smoothing, steps, smint_samples)
    raw = OmegaConf.to_container(node, resolve=False)
    _check_explain(typed, lambda name: raw[name][2:-1] if name in node and OmegaConf.is_interpolation(
        node, name) else f"{key}.{name}")


def _as_field(value, hint):
    """A trace argument in its block's form: a list for a nested block fills its fields in order
    (``occlusion: [patch, stride]``), a single value for a list is a one-item list, a choice is
    named by its text (so that a number is refused as the block refuses it)."""
    if isinstance(hint, type) and issubclass(hint, Enum):
        return str(value)
    if is_dataclass(hint) and isinstance(value, list):
        return dict(zip([item.name for item in fields(hint)], value))
    if get_origin(hint) in (list, list) and not isinstance(value, list):
        return [value]
    return value


def _check_explain(explain, key_of=lambda name: f"explain.{name}"):
    """The explain block's rules across its fields; ``key_of`` names the key a field is set at."""
    from xaiexp.xai.registry import check_settings, method_names, metric_names

    integrating = list(explain.integrating)
    require(len(integrating) in (1, 2) and all(v >= 0 for v in integrating), key_of("integrating"),
            f"must be [steps] or [steps, smint_samples], each >= 0, got {integrating}")
    for field_name, allowed in (("methods", method_names()), ("metrics", metric_names())):
        chosen = [plain_value(name) for name in explain[field_name] or ()]  # null: the defaults
        unknown = [name for name in chosen if name not in allowed]
        require(not unknown, key_of(field_name), f"unknown {unknown[0] if unknown else ''!r}; choose from "
                                                 f"{', '.join(allowed)}")
    methods = list(explain.methods)
    require(methods, key_of("methods"), f"must name at least one of {', '.join(method_names())} "
                                        f"(or explain=none)")
    steps, smint_samples = (integrating + [explain.smoothing])[:2]
    problem = check_settings(methods, smoothing=explain.smoothing, steps=steps,
                             smint_samples=smint_samples)
    if problem:
        key = {"smoothing": key_of("smoothing"), "steps": f"{key_of('integrating')}[0]",
               "smint_samples": f"{key_of('integrating')}[1]" if len(integrating) > 1
               else key_of("smoothing")}[problem.setting]
        raise ConfigError(key, f"must be >= 1 while {key_of('methods')} has {problem.method}, got "
                               f"{problem.value}; raise it or remove {problem.method} from {key_of('methods')}")
