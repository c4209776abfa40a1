"""Hydra's grid sweeper, except that a failed job does not end the sweep.

Hydra's own (``BasicSweeper``) raises the first failed job's error once its batch is back: later
batches never start, the sweep's end hooks never run, and the sweep's MLflow parent keeps no best
child. Here a failed job is logged in one line (its MLflow run is already FAILED, with the reason
as its ``xaiexp.error`` tag) and the sweep goes on; it fails only when every job failed.
"""

import logging

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.utils import JobStatus

log = logging.getLogger(__name__)


class GridSweeper(BasicSweeper):
    """``BasicSweeper`` (the same ``max_batch_size`` and ``params``) that survives failed jobs."""

    def setup(self, *, hydra_context, task_function, config):
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.launcher = FailuresLogged(self.launcher)

    def sweep(self, arguments):
        returns = super().sweep(arguments)
        launched = sum(len(batch) for batch in returns)
        errors = self.launcher.errors
        if launched and len(errors) == launched:
            raise RuntimeError(f"all {launched} jobs failed; the first: "
                               f"{type(errors[0]).__name__}: {errors[0]}") from errors[0]
        return returns


class FailuresLogged:
    """A launcher that logs its failed jobs and hands them back as completed with no value:
    Hydra's sweep loop re-raises a failed job's error, which would stop the sweep. The errors are
    kept in ``errors``."""

    def __init__(self, launcher):
        self.launcher, self.errors = launcher, []

    def launch(self, job_overrides, initial_job_idx):
        returns = self.launcher.launch(job_overrides, initial_job_idx=initial_job_idx)
        for number, job in enumerate(returns, start=initial_job_idx):
            if job.status == JobStatus.FAILED:
                error = job._return_value
                self.errors.append(error)
                log.error(f"Job #{number} failed ({type(error).__name__}: {error}); the sweep goes on")
                job.status, job.return_value = JobStatus.COMPLETED, None
        return returns
