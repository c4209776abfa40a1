"""An Optuna sweeper for Hydra: Optuna's ask/tell loop over Hydra's launcher.

Each round asks the study for ``n_jobs`` trials, turns their sampled values into Hydra overrides
(see xaiexp.app.sweep.search_space), launches them as jobs and tells the study what each
returned: its value, FAIL for an error or a NaN (the study goes on until more than
``max_failure_rate`` of ``n_trials`` failed; it then stops, and fails only if no trial
finished), PRUNED when the job stopped because the pruner said so (see xaiexp.app.sweep.pruning).
The study lives in ``storage`` under ``study_name`` (see xaiexp.app.sweep.study): every process
started with the same ones asks the same study, so sweeps on several machines share it and the
same command again resumes it. ``n_trials`` counts this process's trials.

Hydra accepts sweepers only from the ``hydra_plugins`` package: configs name this class as
``hydra_plugins.xaiexp_optuna_sweeper.OptunaSweeper``.
"""

import functools
import logging
import math
import os
import warnings

import numpy
import optuna
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from omegaconf import OmegaConf

from xaiexp.app.config.schema import plain_value
from xaiexp.app.sweep.search_keys import lacking, searchable
from xaiexp.app.sweep.search_space import as_overrides, search_space, suggest
from xaiexp.app.sweep.study import IN_MEMORY, TRIAL_ENV, open_storage, shown
from xaiexp.tracking.best import best_first

log = logging.getLogger(__name__)


class OptunaSweeper(Sweeper):
    """``sampler`` is a partial sampler class, called anew for every trial with a seed drawn from
    (its ``seed``, the trial number): a seeded sweep repeats, and processes sharing a study draw
    independently instead of in step. ``pruner`` is an Optuna pruner (None: never prune);
    ``params`` maps keys to Hydra's sweep grammar."""

    def __init__(self, sampler, direction: str, storage: str | None = None,
                 study_name: str | None = None, n_trials: int = 8, n_jobs: int = 1,
                 max_failure_rate: float = 0.5, pruner=None, params=None, plots: bool = True):
        if not 0 <= max_failure_rate <= 1:
            raise ValueError(f"hydra.sweeper.max_failure_rate: expected a number in [0, 1], "
                             f"got {max_failure_rate}")
        self.sampler, self.direction, self.storage = sampler, plain_value(direction), storage
        self.study_name, self.n_trials, self.n_jobs = study_name, n_trials, max(n_jobs, 1)
        self.max_failure_rate, self.pruner, self.plots = max_failure_rate, pruner, plots
        self.params = {str(k): str(v) for k, v in (params or {}).items() if v is not None}  # null: removed
        self.config = self.launcher = None
        self.job_idx = 0

    def setup(self, *, hydra_context, task_function, config):
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        space, left_out = searchable(self.params, self.config)
        if left_out:  # a preset's key that the chosen model or dataset lacks
            log.warning(f"Left out of the search: {'; '.join(lacking(self.config, key) for key in left_out)} "
                        f"(README \"Optuna\": changing the search space)")
        swept, fixed = search_space([f"{k}={v}" for k, v in space.items()] + list(arguments))
        study = self.open_study()
        self.record_study(study)
        log.info(f"Study {study.study_name!r} ({shown(self.storage)}), direction {self.direction}, "
                 f"{len(study.trials)} trials so far; searching {', '.join(swept) or 'nothing'}")
        failures, launched = [], 0
        for done in range(0, self.n_trials, self.n_jobs):
            size = min(self.n_jobs, self.n_trials - done)
            failures += self.run_round(study, swept, fixed, size)
            launched += size
            if len(failures) > self.max_failure_rate * self.n_trials:
                stop = (f"{len(failures)} of {self.n_trials} trials failed (more than "
                        f"hydra.sweeper.max_failure_rate={self.max_failure_rate}); the first: "
                        f"{failures[0]}")
                if len(failures) == launched:  # nothing finished: the sweep has no answer
                    raise RuntimeError(stop) from failures[0]
                log.error(f"Stopped: {stop}")
                break
        self.report(study)

    def open_study(self):
        study = optuna.create_study(storage=open_storage(self.storage), sampler=self.seeded_sampler(0),
                                    pruner=self.pruner or optuna.pruners.NopPruner(),
                                    study_name=self.study_name, direction=self.direction,
                                    load_if_exists=True)
        if not self.storage:
            IN_MEMORY[study.study_name] = study
            if self.pruner is not None and type(self.launcher).__name__ != "BasicLauncher":
                log.warning("hydra.sweeper.pruner: jobs in other processes cannot reach a study in "
                            "memory, so nothing is pruned; give hydra.sweeper.storage "
                            "(e.g. sqlite:///outputs/optuna.db)")
        return study

    def seeded_sampler(self, number):
        if not isinstance(self.sampler, functools.partial):
            return self.sampler
        seed = self.sampler.keywords.get("seed")
        if seed is None:
            return self.sampler()
        return self.sampler(seed=int(numpy.random.SeedSequence([seed, number]).generate_state(1)[0]))

    def run_round(self, study, swept, fixed, size):
        """Ask ``size`` trials, run them as one launch, tell their ends; returns their errors."""
        trials = [study.ask() for _ in range(size)]
        overrides = []
        for trial in trials:
            study.sampler = self.seeded_sampler(trial.number)
            suggest(trial, swept)
            # a trial's folder is its number: unique among the processes sharing the study
            overrides.append([*as_overrides(trial.params, fixed), f"hydra.sweep.subdir={trial.number}",
                              f"++hydra.job.env_set.{TRIAL_ENV}={trial._trial_id}"])
        try:
            returns = self.launcher.launch(overrides, initial_job_idx=self.job_idx)
        except BaseException:  # Ctrl-C, SIGTERM: these trials did not finish
            for trial in trials:
                study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            raise
        self.job_idx += len(returns)
        errors = [tell(study, trial, job) for trial, job in zip(trials, returns)]
        return [error for error in errors if error is not None]

    def report(self, study):
        """Log the best trial, write it to the sweep folder, and (with ``plots``) put Optuna's
        plots of the whole study on the MLflow parent run."""
        best = best_trial(study)
        result = {"name": "optuna", "study_name": study.study_name, "storage": shown(self.storage),
                  "trials": len(study.trials), "best_params": best.params if best else None,
                  "best_value": best.value if best else None}
        log.info(f"Best value: {result['best_value']} with {result['best_params']}")
        folder = self.config.hydra.sweep.dir
        os.makedirs(folder, exist_ok=True)  # launched nothing: n_trials=0
        OmegaConf.save(OmegaConf.create(result), os.path.join(folder, "optimization_results.yaml"))
        if self.plots:
            self.record_study(study, study_figures(study))

    def record_study(self, study, figures=None):
        """Name the study on the MLflow parent run (``xaiexp.optuna.study``, ``.storage``: the
        runs of every process sharing it) and log ``figures`` there; nothing untracked."""
        if not self.config.get("tracking", {}).get("enabled"):
            return
        from xaiexp.tracking.study_run import STORAGE_TAG, STUDY_TAG, log_study

        log_study({STUDY_TAG: study.study_name, STORAGE_TAG: shown(self.storage)}, figures or {})


def best_trial(study):
    """The study's best finished trial by the sweep's rule (``tracking.best``: of tied values the
    lowest trial number, as the MLflow parent run says), or None. Optuna's own ``best_trial``
    keeps whichever tied trial it was told first, which parallel jobs decide."""
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    first = next(iter(best_first(finished, lambda trial: trial.value, lambda trial: trial.number,
                                 maximize=study.direction == optuna.study.StudyDirection.MAXIMIZE)), None)
    return first if first is not None and math.isfinite(first.value) else None


def tell(study, trial, job):
    """Tell the study how ``job`` (a Hydra JobReturn) ended; returns its error if it failed."""
    if job.status == JobStatus.FAILED and isinstance(job._return_value, optuna.TrialPruned):
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)  # not an error to report
        return None
    try:
        value = float(job.return_value)  # raises the job's own error when it failed
    except Exception as error:
        log.warning(f"Trial {trial.number} failed: {type(error).__name__}: {error}")
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return error
    if math.isnan(value):  # an infinity is the worst value, below objective.subject_to's floor
        error = FloatingPointError(f"trial {trial.number} returned {value}")
        log.warning(f"Trial {trial.number} failed: {error}")
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return error
    study.tell(trial, value)
    return None


def study_figures(study) -> dict:
    """Optuna's own plots of ``study`` by file name (those that it can draw yet)."""
    import matplotlib

    matplotlib.use("Agg")
    from optuna.visualization import matplotlib as plots

    drawers = {"optimization_history.png": plots.plot_optimization_history,
               "param_importances.png": plots.plot_param_importances}
    if any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        drawers["intermediate_values.png"] = plots.plot_intermediate_values
    figures = {}
    for name, draw in drawers.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                figures[name] = draw(study).figure
        except Exception as error:  # too few finished trials, a single value ...
            log.info(f"No {name}: {type(error).__name__}: {error}")
    return figures
