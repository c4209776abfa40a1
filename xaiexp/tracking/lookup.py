"""Find the run a command names: a run id, or "last", the newest run of an experiment that fits."""

import os
import tempfile
from pathlib import Path

import mlflow
import yaml

from xaiexp.util.errors import ConfigError


def open_store(target, key, wanted):
    """A client of ``target``'s store, checked first (a half-migrated one is repaired or named
    in one line); a ConfigError naming config ``key`` when there is no store, so no ``wanted``."""
    if not target.exists():
        raise ConfigError(key, f"no MLflow store at {target.uri}: no {wanted}")
    target.ensure_store()
    return mlflow.MlflowClient(target.uri)


def find_run(target, experiment, which, key, fits, wanted):
    """``(client, run)``: run ``which`` (an id, or a unique prefix of one) on ``target`` (a
    TrackingTarget), or with "last" the newest run of ``experiment`` for which ``fits(run)``
    holds; otherwise a ConfigError naming config ``key`` and saying there is no ``wanted`` (e.g.
    "interrupted run to resume")."""
    client = open_store(target, key, wanted)
    if which != "last":
        try:
            return client, run_by_prefix(client, which, target.uri)
        except LookupError as error:
            raise ConfigError(key, str(error)) from None
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"],
                              max_results=200) if found else []
    runs = [run for run in runs if fits(run)]
    if not runs:
        raise ConfigError(key, f"experiment {experiment!r} has no {wanted} in {target.uri}")
    return client, runs[0]


SHOWN_CANDIDATES = 5  # runs an ambiguous prefix lists


def run_by_prefix(client, prefix: str, where: str):
    """The one run whose id is ``prefix`` or starts with it, in any experiment of ``client``'s
    store (``where``, its URI); LookupError (one line) when there is none, or several."""
    try:
        return client.get_run(prefix)  # a whole id: any store answers this
    except mlflow.exceptions.MlflowException:
        pass
    found = [] if not prefix.isalnum() else client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string=f"attributes.run_id LIKE '{prefix.lower()}%'", max_results=SHOWN_CANDIDATES + 1)
    if not found:
        raise LookupError(f"no run {prefix!r} in {where}")
    if len(found) > 1:
        shown = ", ".join(f"{run.info.run_id} ({run.info.run_name})" for run in found[:SHOWN_CANDIDATES])
        more = ", ..." if len(found) > SHOWN_CANDIDATES else ""
        raise LookupError(f"run id prefix {prefix!r} is ambiguous: {shown}{more}; give more of it")
    return found[0]


MAX_DEPTH = 32  # a logged config nests about 4 deep; parsing slows quadratically with depth
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when PyYAML has it


def logged_config(client, run, key: str):
    """The resolved config ``run`` logged at its start (``config.yaml``), fetched through
    ``client`` (its tracking URI alone, so a server needs no MLFLOW_TRACKING_URI) and parsed as
    plain YAML data; a ConfigError naming config ``key`` when it is missing or not such YAML."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # keep stderr one line
    whose = f"run {run.info.run_id}'s config.yaml"
    with tempfile.TemporaryDirectory() as folder:
        try:
            text = Path(client.download_artifacts(run.info.run_id, "config.yaml", folder)).read_text()
        except (mlflow.exceptions.MlflowException, OSError, UnicodeDecodeError) as error:
            raise ConfigError(key, f"{whose} cannot be read ({type(error).__name__}): was the run "
                                   f"started by xaiexp?") from None
    try:
        problem = _not_plain(text)
        if problem:
            raise ConfigError(key, f"{whose} {problem}: refused")
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as error:
        problem = (str(error).splitlines() or [type(error).__name__])[0]
        raise ConfigError(key, f"{whose} is not YAML data ({problem}): refused") from None


def _not_plain(text):
    """Why ``text`` is not YAML as xaiexp writes it, read event by event (so a hostile file
    costs no more than its first MAX_DEPTH levels): aliases (never written; nested ones make a
    small file billions of nodes) or deep nesting. None when it is plain."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            return "holds YAML aliases, which xaiexp never writes"
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return f"nests deeper than {MAX_DEPTH} levels"
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return None
