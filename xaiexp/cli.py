"""The ``xaiexp`` command: a Hydra app, plus the ``ui`` subcommand.

Configs are composed and validated before TensorFlow is imported, so ``--help``, ``--cfg job``
and a typo answer in well under two seconds. A bad key, type or value prints one line naming
the key and exits with code 2, before any MLflow run exists.
"""

import os
import signal
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra._internal.utils import get_args_parser
from hydra.types import RunMode
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from xaiexp.config import ConfigError, project_root, register_configs, unknown_key_message, validate

EXIT_CONFIG_ERROR = 2
EXIT_INTERRUPTED = 130


def config_dir():
    """The package's conf/ (in a checkout, a link to the top-level conf/ that users edit)."""
    return str(Path(__file__).resolve().parent / "conf")


def _setup():
    register_configs()
    if not OmegaConf.has_resolver("xaiexp_root"):
        OmegaConf.register_new_resolver("xaiexp_root", project_root)


def describe(error):
    """One line for a composition or validation error, naming the key and what is allowed."""
    if isinstance(error, ConfigError):
        return str(error)
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, option = error.missing_cfg_file.rpartition("/")
        if error.options:
            return f"{group}={option}: no such option; choose from {', '.join(sorted(error.options))}"
        return f"{error.missing_cfg_file}: config not found"
    cause = error
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__ or cause.__context__
    if cause is not None and getattr(cause, "full_key", None):
        if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and " not in " in str(cause):
            return unknown_key_message(cause.full_key)
        return f"{cause.full_key}: {str(cause).splitlines()[0]}"
    return " ".join(str(error).split())


COMPOSITION_ERRORS = (ConfigCompositionException, MissingConfigException, OverrideParseException,
                      OmegaConfBaseException, ConfigError)


def compose_config(overrides):
    """The validated config for these command-line overrides; raises one of COMPOSITION_ERRORS."""
    from hydra import compose, initialize_config_dir

    _setup()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name="xaiexp"):
        cfg = compose(config_name="config", overrides=list(overrides))
    validate(cfg)
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
    (jobs,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return jobs[:MAX_CHECKED_JOBS]


def _job(cfg):
    try:
        validate(cfg)
    except ConfigError as error:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # one bad sampled value fails that trial, not the sweep
        print(f"xaiexp: error: {error}", file=sys.stderr)
        sys.exit(EXIT_CONFIG_ERROR)
    from xaiexp.runner import run  # imports TensorFlow: only once the config is known good

    return run(cfg)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["ui"]:
        from xaiexp.tracking.ui import main as ui_main

        sys.exit(ui_main(argv[1:]))
    _setup()
    args = get_args_parser().parse_args(argv)
    informational = args.help or args.hydra_help or args.cfg or args.info or args.shell_completion
    if not informational:
        try:
            for overrides in job_overrides(args.overrides, args.multirun):
                compose_config(overrides)
        except COMPOSITION_ERRORS as error:
            print(f"xaiexp: error: {describe(error)}", file=sys.stderr)
            sys.exit(EXIT_CONFIG_ERROR)
    signal.signal(signal.SIGTERM, _interrupt)
    sys.argv = ["xaiexp", *argv]
    try:
        hydra.main(config_path=config_dir(), config_name="config", version_base="1.3")(_job)()
    except KeyboardInterrupt:
        _close_open_sweep("KILLED", "interrupted")
        print("xaiexp: interrupted; the MLflow run is marked KILLED", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BaseException as error:
        _close_open_sweep("FAILED", f"{type(error).__name__}: {error}")
        raise


def _interrupt(signum, frame):
    """SIGTERM stops a run like Ctrl-C does: the run ends KILLED, not RUNNING."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _close_open_sweep(status, reason):
    """A multirun that dies before Hydra's on_multirun_end must not leave its parent RUNNING."""
    if os.environ.get("XAIEXP_PARENT_RUN_ID"):
        from xaiexp.tracking.sweep import close_sweep

        close_sweep(status, reason)
