"""Pruning: a trial reports its objective every epoch and stops when the pruner says so.

The value reported is the objective's key (``accuracy`` for ``objective.metric=eval/accuracy``;
for a ``test/`` objective, the same key at eval, the only one known per epoch), with the epoch
as the step, so Optuna's pruners (median, successive halving, Hyperband) compare trials epoch by
epoch (https://optuna.readthedocs.io/en/stable/tutorial/10_key_features/003_efficient_optimization_algorithms.html).
"""

import os

import optuna
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate

from xaiexp.app.sweep.study import TRIAL_ENV, job_trial
from xaiexp.trace.trace import Trace
from xaiexp.tracking.best import TRIAL_TAG  # the trial's number, on its run

PRUNED_TAG = "xaiexp.pruned"  # on a pruned trial's run: why the pruner stopped it


class PruningTrace(Trace):
    """Reports ``key`` at the end of every eval epoch to ``trial`` (an ``optuna.Trial``) and,
    when its study's pruner prunes it before the last epoch, raises ``optuna.TrialPruned``:
    training stops there, and the sweeper records the trial PRUNED. ``tag(dict)``, if given,
    labels the job's run: ``xaiexp.optuna.trial`` (the trial number) at the start, and
    ``xaiexp.pruned`` (why) when pruned. A recorder of logs (to Optuna): it runs after the MLflow
    trace, so the pruned epoch is logged too."""

    records_logs = True

    def __init__(self, trial, key, tag=None):
        super().__init__(mode="eval")  # reads the epoch's logs, not the batches
        self.trial, self.key, self.tag = trial, key, tag

    def on_begin(self, data):
        if self.tag:
            self.tag({TRIAL_TAG: self.trial.number})

    def on_epoch_end(self, data):
        if self.key not in data:
            return  # not logged at eval: the job's objective will say so
        value, epoch = float(data[self.key]), self.system.epoch_idx
        self.trial.report(value, step=epoch)
        if epoch < self.system.total_epochs and self.trial.should_prune():  # the last one is done
            reason = f"{self.key} {value:.4g} at epoch {epoch}"
            if self.tag:
                self.tag({PRUNED_TAG: reason})
            raise optuna.TrialPruned(f"pruned: {reason}")


def trial_traces(cfg) -> dict[str, Trace]:
    """``{"optuna_trial": PruningTrace}`` for a job that is a trial of an Optuna sweep
    (reporting to it even without a pruner, for Optuna's intermediate-values plot), else {}."""
    if TRIAL_ENV not in os.environ or not HydraConfig.initialized():
        return {}
    sweeper = HydraConfig.get().sweeper
    pruner = instantiate(sweeper.pruner) if sweeper.get("pruner") else None
    trial = job_trial(sweeper.get("storage"), sweeper.get("study_name"), pruner)
    if trial is None:
        return {}
    tag = None
    if cfg.tracking.enabled:
        from xaiexp.tracking.study_run import tag_active_run as tag
    return {"optuna_trial": PruningTrace(trial, cfg.objective.metric.partition("/")[2], tag=tag)}
