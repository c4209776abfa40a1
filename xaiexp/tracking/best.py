"""Which of a sweep's runs is the best: one rule for the parent run's ``best/<metric>`` and
``xaiexp.best_child_*`` tags, its description, the console's ranking, ``xaiexp report`` and the
Optuna sweeper's ``optimization_results.yaml``.

A run can be the best when it finished, logged a finite objective and did not miss the
objective's floor. The best value wins; of runs tied on it, the one launched first: the lowest
Optuna trial number, else the lowest Hydra job number, else the earliest start. Launch order,
not start time or the order a store lists runs in, because parallel jobs start and end in any
order while their numbers are fixed when the sweep hands them out.
"""

import math
from collections.abc import Callable, Iterable

# Tags of a sweep's child run: how it was launched, and why its objective does not count.
TRIAL_TAG = "xaiexp.optuna.trial"
JOB_TAG = "xaiexp.job_num"
OBJECTIVE_UNMET = "xaiexp.objective_unmet"


def best_first(items: Iterable, value: Callable, order: Callable, maximize: bool) -> list:
    """``items`` best first: those whose ``value(item)`` is a finite number by that value (ties
    by ``order(item)``, lowest first), then the others by ``order``."""
    def key(item):
        number = value(item)
        if number is None or not math.isfinite(number):
            return 1, 0.0, order(item)
        return 0, -number if maximize else number, order(item)

    return sorted(items, key=key)


def ranked(runs: Iterable, metric: str, maximize: bool) -> list:
    """MLflow runs best first by ``metric``; those that cannot be the best last, in launch order."""
    return best_first(runs, lambda run: run.data.metrics.get(metric) if is_candidate(run, metric) else None,
                      launch_order, maximize)


def best_run(runs: Iterable, metric: str, maximize: bool):
    """The best of MLflow ``runs`` by ``metric``, or None when none can be."""
    first = next(iter(ranked(runs, metric, maximize)), None)
    return first if first is not None and is_candidate(first, metric) else None


def is_candidate(run, metric: str) -> bool:
    """Whether ``run`` may be a sweep's best by ``metric``: it finished, logged a finite value,
    and did not miss the objective's floor."""
    return (run.info.status == "FINISHED" and math.isfinite(run.data.metrics.get(metric, math.nan))
            and OBJECTIVE_UNMET not in run.data.tags)


def launch_order(run) -> tuple:
    """(Optuna trial number, Hydra job number, start time) of an MLflow run; missing numbers
    sort last."""
    tags = run.data.tags
    return _number(tags.get(TRIAL_TAG)), _number(tags.get(JOB_TAG)), run.info.start_time or 0


def _number(text) -> float:
    try:
        return int(text)
    except (TypeError, ValueError):
        return math.inf
