"""What tells a run apart from other runs: the name it goes by and the MLflow params it logs.

The name says the model, the dataset and what the command line or a sweeper set, in short:
``small_cnn · shapes · init_lr=3e-4``; a sweep's child goes by its swept values alone, under its
parent ``sweep small_cnn · shapes``. The params are what the command line or a sweeper set, key by
key; a run at the defaults logs none (its ``config.yaml`` artifact holds the whole config, about
80 keys). MLflow's image card prints every param of the run above its image, and the image sinks
out of the card as that text grows past a line (README "Browsing results").
"""

from xaiexp.util.util import short_value

IDENTITY_GROUPS = ("model", "dataset")  # always named, even at their defaults
# where a run goes, how it is swept or shown: not what it is
UNLOGGED = ("tracking", "sweeper", "hparams_search", "hydra", "name", "run_name", "debug", "resume")
SEPARATOR = " · "
MAX_NAME = 80  # characters of a derived run name (MLflow's runs table cuts long names anyway)


def flatten(config, prefix=""):
    """{"schedule": {"init_lr": 1e-3}} -> {"schedule.init_lr": 1e-3}"""
    flat = {}
    for key, item in config.items():
        if isinstance(item, dict):
            flat.update(flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def run_params(flat: dict, choices: dict, overrides: list[str]) -> dict:
    """The params of a run whose flattened config is ``flat``: the option of every group an
    override chose (``choices`` as Hydra records them; labelled by ``option_label``), and every
    key an override set (the command line's or a sweeper's, so a sweep's values are always
    there), with its value as the config resolved it."""
    keys = [key for key, _ in set_keys(overrides, choices)]
    picked = {key: _as_typed(value) for key, value in flat.items()
              if any(key == k or key.startswith(f"{k}.") for k in keys)}
    return {**option_labels(flat, choices, overrides, identity=False), **picked}


def _as_typed(value):
    """``value`` as a command line spells it: YAML's ``null``, ``true`` and ``false`` (MLflow
    would log Python's ``None``, ``True``, ``False``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def run_name(flat: dict, choices: dict, overrides: list[str], swept=None) -> str:
    """The run's name: ``run_name`` if the config sets it; in a sweep (``swept``: the keys that
    vary between its jobs) the job's swept values (``init_lr=3e-4 · model=cnn``; "" if none);
    else its model and dataset options, then what its overrides set (``small_cnn · shapes ·
    init_lr=3e-4``). Keys are cut to their last part and numbers to their shortest spelling, so
    that names cut short in MLflow's runs table still differ."""
    if swept is not None:
        return _spelled([(key, value) for key, value in set_keys(overrides, choices, groups=True)
                         if key in swept])
    if flat.get("run_name"):
        return str(flat["run_name"])
    return _cut(SEPARATOR.join(_described(flat, choices, overrides)))


def sweep_name(flat: dict, choices: dict, overrides: list[str], swept) -> str:
    """The name of a sweep's parent run: ``sweep <run_name>`` if the config sets it, else
    ``sweep`` and what its jobs share: the model and dataset options unless swept, and what its
    fixed overrides set."""
    if flat.get("run_name"):
        return f"sweep {flat['run_name']}"
    fixed = [override for override in overrides if _key(override) not in swept]
    return _cut(f"sweep {SEPARATOR.join(_described(flat, choices, fixed, leave_out=swept))}")


def _described(flat, choices, overrides, leave_out=()):
    """The model and dataset labels (but those in ``leave_out``), then the other settings."""
    labels = option_labels(flat, choices, overrides)
    named = [labels[group] for group in IDENTITY_GROUPS if group in labels and group not in leave_out]
    targets = [f"{group}._target_" for group in IDENTITY_GROUPS]  # the labels say them
    rest = [(key, value) for key, value in set_keys(overrides, choices, groups=True)
            if key not in IDENTITY_GROUPS and key not in targets]
    return [*named, *([_spelled(rest)] if rest else [])]


def option_labels(flat: dict, choices: dict, overrides: list[str], identity: bool = True) -> dict:
    """{group: label} (``option_label``) of every group an override chose (``optimizer=sgd``),
    and with ``identity`` of the model and the dataset first."""
    chosen = {_key(override) for override in overrides}
    groups = [group for group in IDENTITY_GROUPS if identity and (choices.get(group) or flat.get(f"{group}._target_"))]
    groups += [group for group, option in choices.items() if group in chosen and option is not None
               and group not in groups and group not in UNLOGGED and "/" not in group]
    return {group: option_label(flat.get(f"{group}._target_"), choices.get(group),
                                f"{group}._target_" in chosen) for group in groups}


def option_label(target: str | None, option: str | None, target_overridden: bool) -> str:
    """A group's label: its config option (``lenet``, ``mine``), or the last part of its
    ``_target_`` (``mymodels.small_cnn`` -> ``small_cnn``; a dataset's ``mydata.load_data`` ->
    ``mydata``) when an override replaced the option's target or there is no option (no Hydra),
    so a user's own model never goes by the name of the option it replaced."""
    if option is None or target_overridden and target:
        parts = str(target).split(".")
        return parts[-2] if parts[-1] == "load_data" and len(parts) > 1 else parts[-1]
    return str(option)


def set_keys(overrides: list[str], choices: dict, groups: bool = False) -> list[tuple[str, str]]:
    """(key, value) of the overrides that say what the run is, in order: keys, and with
    ``groups`` also group choices (``optimizer=sgd``); not the UNLOGGED ones, nor removals."""
    found = {}
    for override in overrides:
        key, _, value = override.partition("=")
        if key.startswith("~"):  # a key removed: what replaced it (e.g. the model's target) says it
            continue
        key = key.lstrip("+")
        if key.split(".")[0].split("/")[0] in UNLOGGED or (key in choices and not groups):
            continue
        found[key] = value
    return list(found.items())


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def _spelled(settings: list[tuple[str, str]]) -> str:
    """``schedule.init_lr=0.0003`` -> ``init_lr=3e-4``: keys by their last part unless two
    would read the same, numbers by their shortest spelling, paths by their last part."""
    keys = [key for key, _ in settings]
    short = [key.rsplit(".", 1)[-1] for key in keys]
    names = short if len(set(short)) == len(short) else keys
    return SEPARATOR.join(f"{name}={short_value(value)}" for name, (_, value) in zip(names, settings))


def _cut(name: str) -> str:
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "…"
