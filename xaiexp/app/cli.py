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

from xaiexp.app.tasks.explain_source import source_config, split_overrides
from xaiexp.app.config.paths import absolute_paths
from xaiexp.app.config.disk_full import no_space_left
from xaiexp.app.config.writable_folders import check_output_dir
from xaiexp.app.config.preflight import check_resources
from xaiexp.app.sweep.remote_checks import check_launcher, check_study_database
from xaiexp.app.config.schema import register_configs
from xaiexp.app.config.shared_store import share_config_store
from xaiexp.app.config.stored import read_stored, trusted_targets
from xaiexp.app.config.tracked import experiment_name, tracking_target
from xaiexp.app.sweep.study_storage import check_study_storage
from xaiexp.app.sweep.search_keys import check_search_keys
from xaiexp.app.config.validate import check_overrides, require, schema_at, unknown_key_message, validate
from xaiexp.util.console import ConsoleLog, status, tensorflow_notices_once
from xaiexp.util.errors import ConfigError, one_line
from xaiexp.util.machine import missing_tensorflow
from xaiexp.util.project import config_dir, project_root

EXIT_FAILED = 1
EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130


def _setup():
    register_configs()
    share_config_store()
    if not OmegaConf.has_resolver("xaiexp_root"):
        OmegaConf.register_new_resolver("xaiexp_root", project_root)


def error_line(error):
    """One line for a composition or validation error, naming the key and what is allowed."""
    return one_line(_error_text(error)) or type(error).__name__


def _error_text(error):
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
        cfg = _composed(compose, overrides)
    storage = OmegaConf.select(cfg, "hydra.sweeper.storage", default=None, throw_on_resolution_failure=False)
    check_study_storage(storage)
    check_study_database(storage)
    check_launcher(OmegaConf.select(cfg, "hydra.launcher", default=None, throw_on_resolution_failure=False))
    check_search_keys(cfg, list(searched))
    with open_dict(cfg):
        cfg.pop("hydra")  # the job's config, as Hydra hands it to the job
    validate(cfg)
    check_resources(cfg)
    return cfg


def _composed(compose, overrides):
    """Hydra's ``compose``, a broken config file (bad YAML, a defaults list that includes itself)
    raised as a ConfigError naming it."""
    import yaml

    from xaiexp.app.config.files import BAD_FILE_ERRORS, config_file_error

    try:
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    except (yaml.YAMLError, *BAD_FILE_ERRORS) as error:
        named = config_file_error(error)
        if named is None:
            raise
        raise named from None


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


def _job(cfg, task="train", stored_overrides=()):
    """One job of ``task`` (train, or explain): the config checked again as Hydra composed it
    (a sweeper's sampled values too), the run it names looked up and its logged config read as
    data (``stored_overrides``: this explain command's overrides of that config), then the work."""
    try:
        validate(cfg)
        require(task == "explain" or not cfg.explain_run, "explain_run",
                "is for `xaiexp explain`; to train, leave it null")
        require(task == "train" or not cfg.resume, "resume", "is for training runs")
        run_to_use = None
        if task == "explain" and cfg.explain_run:
            run_to_use = _source_run(cfg)
            cfg = source_config(run_to_use, cfg, list(stored_overrides), _trusted(cfg, stored_overrides))
        elif task == "train" and cfg.resume:
            run_to_use = _resume_point(cfg)
            cfg = read_stored(run_to_use.config, run_to_use.run_id, "resume",
                              {"tracking": {"uri": cfg.tracking.uri}, "resume": cfg.resume},
                              _trusted(cfg))
        if run_to_use:
            validate(cfg)
            check_resources(cfg)
        cfg = absolute_paths(cfg)
    except COMPOSITION_ERRORS as error:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # one bad sampled value fails that trial, not the sweep
        _refuse(error_line(error))
    with ConsoleLog(console_log_path()):
        return _work(cfg, task, run_to_use, list(stored_overrides))


def _trusted(cfg, stored_overrides=()):
    """The ``_target_``s a run's logged config may name (see ``xaiexp.app.config.stored``): xaiexp's,
    and those of this command (its config, overrides and config folders)."""
    hydra = HydraConfig.get()
    folders = [source.path for source in hydra.runtime.config_sources if source.schema == "file"]
    return trusted_targets(cfg, folders, [*hydra.overrides.task, *stored_overrides])


def console_log_path():
    """Hydra's job log file in the run folder, into which the console is copied (README "What a
    run does"); ``console.log`` there when Hydra's file logging is turned off."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return os.path.join(HydraConfig.get().runtime.output_dir, "console.log")


def _work(cfg, task, run_to_use, stored_overrides):
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
            from xaiexp.app.tasks.explain import explain

            work = functools.partial(explain, cfg, run_to_use, overrides=stored_overrides)
        else:
            from xaiexp.app.tasks.train import run

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


def _source_run(cfg):
    """The trained run that ``explain_run=`` names (ConfigError if there is none)."""
    from xaiexp.tracking.source import find_source_run

    target = _lookup_target(cfg, "explain_run", "the run")
    return find_source_run(target, experiment_name(cfg), cfg.explain_run)


def _lookup_target(cfg, key, what):
    """The tracking target in which config ``key`` looks ``what`` up; ConfigError without one."""
    require(cfg.tracking.enabled, key, f"needs tracking=mlflow: {what} is looked up in MLflow")
    return tracking_target(cfg)


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
    return find_resume_point(target, experiment_name(cfg), cfg.resume)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["ui"]:
        from xaiexp.tracking.ui.command import main as ui_main

        return ui_main(argv[1:])
    if argv[:1] == ["report"]:
        from xaiexp.tracking.report.command import main as report_main

        return report_main(argv[1:])
    task = "explain" if argv[:1] == ["explain"] else "train"
    argv = argv[1:] if task == "explain" else argv
    _setup()
    args = get_args_parser().parse_intermixed_args(argv)  # options may follow overrides
    argv = options_first(argv, args.overrides)
    informational = args.help or args.hydra_help or args.cfg or args.info or args.shell_completion
    stored_overrides = []
    if not informational:
        try:
            if task == "explain":  # explain_run's: applied to the run's config, checked there
                args.overrides, stored_overrides = split_overrides(args.overrides)
                argv = [arg for arg in argv if arg not in stored_overrides]
            for overrides in job_overrides(args.overrides, args.multirun):
                compose_config(overrides, [args.config_dir] if args.config_dir else (),
                               searched=args.overrides if args.multirun else ())
            check_output_dir(args.overrides, args.multirun)
        except COMPOSITION_ERRORS as error:
            print(f"xaiexp: error: {error_line(error)}", file=sys.stderr)
            sys.exit(EXIT_CONFIG_ERROR)
    signal.signal(signal.SIGTERM, _interrupt)
    sys.argv = ["xaiexp", *argv]  # Hydra reads its arguments from there
    try:
        hydra.main(config_path=config_dir(), config_name="config", version_base="1.3")(
            functools.wraps(_job)(functools.partial(_job, task=task, stored_overrides=stored_overrides)))()
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
