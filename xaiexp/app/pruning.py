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

from xaiexp.app.study import TRIAL_ENV, job_trial
from xaiexp.trace.trace import Trace


class PruningTrace(Trace):
    """Reports ``key`` at the end of every eval epoch to ``trial`` (an ``optuna.Trial``) and,
    when its study's pruner prunes it before the last epoch, calls ``on_prune(reason)`` and raises
    ``optuna.TrialPruned``: training stops there, and the sweeper records the trial PRUNED.
    A recorder of logs (to Optuna): put after the MLflow trace, the pruned epoch is logged too."""

    records_logs = True

    def __init__(self, trial, key, on_prune=None):
        super().__init__(mode="eval")  # reads the epoch's logs, not the batches
        self.trial, self.key, self.on_prune = trial, key, on_prune

    def on_epoch_end(self, data):
        if self.key not in data:
            return  # not logged at eval: the job's objective will say so
        value, epoch = float(data[self.key]), self.system.epoch_idx
        self.trial.report(value, step=epoch)
        if epoch < self.system.total_epochs and self.trial.should_prune():  # the last one is done
            reason = f"{self.key} {value:.4g} at epoch {epoch}"
            if self.on_prune:
                self.on_prune(reason)
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
    on_prune = None
    if cfg.tracking.enabled:
        from xaiexp.tracking.study import tag_pruned as on_prune
    return {"optuna_trial": PruningTrace(trial, cfg.objective.metric.partition("/")[2], on_prune=on_prune)}
