"""The ``xaiexp`` command: a Hydra app, plus the ``ui`` and ``report`` subcommands.

Configs are composed and validated before TensorFlow is imported, so ``--help``, ``--cfg job``
and a typo answer in well under two seconds. A bad key, type or value prints one line naming
the key and exits with code 2, before any MLflow run exists.
"""

import functools
import logging
import os
import signal
import sys
from pathlib import Path

import hydra
from hydra._internal.utils import get_args_parser
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from xaiexp.app.preflight import check_output_dir, check_resources, check_study_storage, no_space_left
from xaiexp.app.schema import Config, register_configs
from xaiexp.app.search_keys import check_search_keys
from xaiexp.app.validate import check_overrides, require, schema_at, unknown_key_message, validate
from xaiexp.util.console import ConsoleLog, status, tensorflow_notices_once
from xaiexp.util.errors import ConfigError, one_line
from xaiexp.util.machine import missing_tensorflow
from xaiexp.util.project import project_root

EXIT_FAILED = 1
EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130


def config_dir():
    """The package's conf/ (in a checkout, a link to the top-level conf/ that users edit)."""
    return str(Path(__file__).resolve().parent.parent / "conf")


def _setup():
    register_configs()
    if not OmegaConf.has_resolver("xaiexp_root"):
        OmegaConf.register_new_resolver("xaiexp_root", project_root)


def describe(error):
    """One line for a composition or validation error, naming the key and what is allowed."""
    return one_line(_describe(error)) or type(error).__name__


def _describe(error):
    if isinstance(error, ConfigError):
        return str(error)
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, option = error.missing_cfg_file.rpartition("/")
        options = error.options or [path.stem for path in Path(config_dir(), group).glob("*.yaml")]
        if options:
            return f"{group}={option}: no such option; choose from {', '.join(sorted(options))}"
        plugin = " (a Hydra plugin's config: is the plugin installed?)" if group.startswith("hydra/") else ""
        return f"{error.missing_cfg_file}: config not found{plugin}"
    if isinstance(error, OverrideParseException):
        return f"{error.override}: {_parse_problem(error)}; expected key=value (see " \
               f"https://hydra.cc/docs/advanced/override_grammar/basic)"
    cause = error
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__ or cause.__context__
    if cause is not None and getattr(cause, "full_key", None):
        if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and " not in " in str(cause):
            parent = getattr(cause, "parent_node", None)
            siblings = list(parent.keys()) if isinstance(parent, DictConfig) and not schema_at(
                cause.full_key.rpartition(".")[0]) else None
            return unknown_key_message(cause.full_key, siblings)
        return f"{cause.full_key}: {(str(cause).splitlines() or [type(cause).__name__])[0]}"
    return " ".join(str(error).split())


def _parse_problem(error):
    """Hydra's parser message on one line, its caret turned into a position."""
    lexer = "LexerNoViableAltException: "
    lines = [line for line in error.message.splitlines()
             if line.strip() and not line.startswith(("See https://", "Error parsing override"))]
    if lines and lines[0].startswith(lexer) and len(lines) > 1 and "^" in lines[1]:
        column = lines[1].index("^") - len(lexer)
        if 0 <= column < len(error.override):
            return f"unexpected {error.override[column]!r} at position {column + 1}"
    return "cannot parse: " + " ".join(" ".join(lines).split()) if lines else "cannot parse"


COMPOSITION_ERRORS = (ConfigCompositionException, MissingConfigException, OverrideParseException,
                      OmegaConfBaseException, ConfigError)


def compose_config(overrides, config_dirs=(), searched=()):
    """The validated config for these command-line overrides (and ``--config-dir``s, searched
    before the package's), its dataset file and tracking server checked too (once per process
    each), and the keys a sweep's command line ``searched`` names for its search
    (``search_keys``); raises one of COMPOSITION_ERRORS."""
    from hydra import compose, initialize_config_dir

    if config_dirs:
        paths = ",".join(f"file://{os.path.abspath(os.path.expanduser(d))}" for d in config_dirs)
        overrides = [*overrides, f"hydra.searchpath=[{paths}]"]
    _setup()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name="xaiexp"):
        check_overrides(overrides)  # Hydra raises a bare ValueError for e.g. dataset=3
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    check_study_storage(OmegaConf.select(cfg, "hydra.sweeper.storage", default=None,
                                         throw_on_resolution_failure=False))
    check_search_keys(cfg, list(searched))
    with open_dict(cfg):
        cfg.pop("hydra")  # the job's config, as Hydra hands it to the job
    validate(cfg)
    check_resources(cfg)
    return cfg


MAX_CHECKED_JOBS = 64


def job_overrides(overrides, multirun):
    """The override lists of the jobs a command will run (a grid sweep's first
    MAX_CHECKED_JOBS), so every one is validated before any starts."""
    if not multirun:
        return [overrides]
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    if any(o.is_interval_sweep() for o in parsed):  # a sampler's space: each trial is checked as it starts
        return [[o.input_line for o in parsed if not o.is_sweep_override()]]
    (jobs,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return jobs[:MAX_CHECKED_JOBS]


def _job(cfg, task="train"):
    """One job of ``task`` (train, or explain): the config checked again as Hydra composed it
    (a sweeper's sampled values too), the run it names looked up, then the work."""
    try:
        validate(cfg)
        require(task == "explain" or not cfg.explain_run, "explain_run",
                "is for `xaiexp explain`; to train, leave it null")
        require(task == "train" or not cfg.resume, "resume", "is for training runs")
        if task == "explain":
            source = _source_run(cfg) if cfg.explain_run else None
            if source:
                cfg = source_config(source, cfg, HydraConfig.get().overrides.task)
                validate(cfg)
                check_resources(cfg)
        else:
            resume = _resume_point(cfg) if cfg.resume else None
            if resume:
                cfg = OmegaConf.merge(OmegaConf.structured(Config), resume.config,
                                      {"tracking": {"uri": cfg.tracking.uri}, "resume": cfg.resume})
    except ConfigError as error:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # one bad sampled value fails that trial, not the sweep
        _refuse(error)
    with ConsoleLog(console_log_path()):
        return _work(cfg, task, source if task == "explain" else resume)


def console_log_path():
    """Hydra's job log file in the run folder, into which the console is copied (README "What a
    run does"); ``console.log`` there when Hydra's file logging is turned off."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return os.path.join(HydraConfig.get().runtime.output_dir, "console.log")


def _work(cfg, task, run_to_use):
    """The job's work, its errors as one line each (unless debug or a sweep)."""
    from xaiexp.dataset.data.errors import DatasetFormatError, DatasetNotFoundError

    missing = missing_tensorflow()  # the base install leaves the wheel to the cpu/gpu extras
    if missing:
        print(f"xaiexp: error: {missing}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    if "tensorflow" not in sys.modules:
        status("starting TensorFlow…")
    with tensorflow_notices_once():  # imports TensorFlow: only once the config is known good
        if task == "explain":
            from xaiexp.app.explain import explain

            work = functools.partial(explain, cfg, run_to_use)
        else:
            from xaiexp.app.run import run

            work = functools.partial(run, cfg, resume=run_to_use)
    if cfg.debug or HydraConfig.get().mode == RunMode.MULTIRUN:
        return work()  # full tracebacks; a sweeper records the failed trial
    try:
        return work()
    except ConfigError as error:  # found while building the objects, before training
        _refuse(error)
    except (DatasetNotFoundError, DatasetFormatError) as error:
        _exit(EXIT_CONFIG_ERROR, error)
    except Exception as error:  # the MLflow run is already FAILED, with the reason as a tag
        full = no_space_left(error, cfg, HydraConfig.get().runtime.output_dir)
        _exit(EXIT_FAILED, full or f"{type(error).__name__}: {error}")


def source_config(source, cfg, overrides):
    """The trained run's logged config with its logged model, then this command's ``overrides``
    (``key=value`` ones: a group choice like ``dataset=folder`` would discard the run's)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from xaiexp.app.schema import SavedModelConfig

    # this command's: where to log, and the traces (whose values the run's logged config holds
    # resolved, so that explain.* overrides would not reach them)
    kept = {key: cfg[key] for key in ("tracking", "debug", "explain_run", "traces")}
    config = OmegaConf.merge(OmegaConf.structured(Config), source.config, kept)
    config.model = {"_target_": SavedModelConfig._target_, "path": source.model_path}
    repository = GlobalHydra.instance().config_loader().repository
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if key.split(".")[0] in kept or key.startswith("hydra"):
            continue
        if repository.group_exists(key) or override.is_delete() or override.is_add():
            raise ConfigError(key, "with explain_run, override keys of the run's config (e.g. "
                                   "dataset.path=...), not groups, and add or remove none")
        OmegaConf.update(config, key, override.value(), merge=False)
    return config


def _source_run(cfg):
    """The trained run that ``explain_run=`` names (ConfigError if there is none)."""
    from xaiexp.tracking.source import find_source_run

    target = _lookup_target(cfg, "explain_run", "the run")
    return find_source_run(target, cfg.tracking.experiment or cfg.name, cfg.explain_run)


def _lookup_target(cfg, key, what):
    """The tracking target in which config ``key`` looks ``what`` up; ConfigError without one."""
    from xaiexp.tracking.store import TrackingTarget

    require(cfg.tracking.enabled, key, f"needs tracking=mlflow: {what} is looked up in MLflow")
    return TrackingTarget.from_config(cfg.tracking.uri, project_root())


def _refuse(error):
    """A bad config: its one line (it names the key), exit code 2."""
    print(f"xaiexp: error: {error}", file=sys.stderr)
    sys.exit(EXIT_CONFIG_ERROR)


def _exit(code, message):
    print(f"xaiexp: error: {one_line(message)} (debug=true shows the traceback)", file=sys.stderr)
    sys.exit(code)


def _resume_point(cfg):
    """The interrupted run that ``resume=`` names (ConfigError if there is none)."""
    from xaiexp.tracking.resume import find_resume_point

    target = _lookup_target(cfg, "resume", "the run to resume")
    return find_resume_point(target, cfg.tracking.experiment or cfg.name, cfg.resume)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["ui"]:
        from xaiexp.tracking.ui import main as ui_main

        return ui_main(argv[1:])
    if argv[:1] == ["report"]:
        from xaiexp.tracking.report import main as report_main

        return report_main(argv[1:])
    task = "explain" if argv[:1] == ["explain"] else "train"
    argv = argv[1:] if task == "explain" else argv
    if os.getcwd() not in sys.path:  # a user's own _target_ modules, as ``python -m`` finds them
        sys.path.insert(0, os.getcwd())
    _setup()
    args = get_args_parser().parse_intermixed_args(argv)  # options may follow overrides
    argv = options_first(argv, args.overrides)
    informational = args.help or args.hydra_help or args.cfg or args.info or args.shell_completion
    if not informational:
        try:
            for overrides in job_overrides(args.overrides, args.multirun):
                compose_config(overrides, [args.config_dir] if args.config_dir else (),
                               searched=args.overrides if args.multirun else ())
            check_output_dir(args.overrides, args.multirun)
        except COMPOSITION_ERRORS as error:
            print(f"xaiexp: error: {describe(error)}", file=sys.stderr)
            sys.exit(EXIT_CONFIG_ERROR)
    signal.signal(signal.SIGTERM, _interrupt)
    sys.argv = ["xaiexp", *argv]  # Hydra reads its arguments from there
    try:
        hydra.main(config_path=config_dir(), config_name="config", version_base="1.3")(
            functools.wraps(_job)(functools.partial(_job, task=task)))()
    except KeyboardInterrupt:
        _close_open_sweep("KILLED", "interrupted")
        print("xaiexp: interrupted; the MLflow run is marked KILLED", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BaseException as error:
        _close_open_sweep("FAILED", f"{type(error).__name__}: {error}")
        raise


def options_first(argv, overrides):
    """``argv`` with the overrides moved after every option, the order Hydra's own parser reads
    (``-m hparams_search=optuna --config-dir conf model=mine`` is then the same command as
    ``-m --config-dir conf hparams_search=optuna model=mine``)."""
    rest = list(argv)
    for override in reversed(overrides):  # an override is the last of its spellings in argv
        del rest[len(rest) - 1 - rest[::-1].index(override)]
    return [*rest, *overrides]


def _interrupt(signum, frame):
    """SIGTERM stops a run like Ctrl-C does: the run ends KILLED, not RUNNING."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _close_open_sweep(status, reason):
    """A multirun that dies before Hydra's on_multirun_end must not leave its parent RUNNING."""
    if os.environ.get("XAIEXP_PARENT_RUN_ID"):
        from xaiexp.tracking.sweep import close_sweep

        close_sweep(status, reason)
