"""A Hydra launcher that runs each sweep job as a task on an existing Ray cluster.

hydra-ray-launcher 1.2.2, the plugin Hydra publishes, requires ``ray<3`` and ``cloudpickle<3``
(which breaks joblib ≥ 1.6), and its default ``ray.init`` arguments set ``object_store_memory``,
which current Ray refuses when joining a running cluster; it also re-raises the first failed
job, ending the sweep. This one uses Ray's public API only (``ray.init``, ``ray.remote``,
``ray.get``; see https://docs.ray.io/en/latest/ray-core/tasks.html) and Ray's own serializer:

- each job is one task (``remote``: ``ray.remote`` options, e.g. ``num_cpus``; by default a
  fresh worker process per job, ``max_calls: 1``, and no retry, ``max_retries: 0``);
- the job sees the sweep's ``XAIEXP_*`` and ``MLFLOW_*`` environment variables, as joblib's and
  Slurm's jobs inherit them, and records the Ray node it ran on (``xaiexp.node``);
- a job whose node or worker dies fails alone: its MLflow run is ended FAILED naming the loss,
  the sweeper records the failure and the other jobs go on.

Hydra accepts launchers only from the ``hydra_plugins`` package: configs name this class as
``hydra_plugins.xaiexp_ray_launcher.RayLauncher``.
"""

import logging
import os
from pathlib import Path

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from omegaconf import OmegaConf, open_dict

log = logging.getLogger(__name__)

NODE_ENV = "XAIEXP_NODE"  # where a job ran, e.g. "127.0.0.1 (ray node 3f2a…)": its run's xaiexp.node
FORWARDED = ("XAIEXP_", "MLFLOW_")  # the sweep's environment that its jobs need
DEFAULT_REMOTE = {"num_cpus": 1, "max_calls": 1, "max_retries": 0}


class JobLost(RuntimeError):
    """A job that Ray could not bring back: its node or its worker process died."""


class RayLauncher(Launcher):
    """``address``: the cluster ``ray.init`` joins (``auto``: ``RAY_ADDRESS``, else the cluster
    that ``ray start`` runs on this machine); ``remote``: options for every job's task."""

    def __init__(self, address: str = "auto", remote=None):
        self.address = address
        self.remote = {**DEFAULT_REMOTE, **OmegaConf.to_container(OmegaConf.create(remote or {}))}
        self.config = self.hydra_context = self.task_function = None

    def setup(self, *, hydra_context, task_function, config):
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides, initial_job_idx):
        import ray

        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=True)
        log.info(f"Ray: launching {len(job_overrides)} jobs on {len(alive_nodes())} node(s) "
                 f"of the cluster at {self.address}")
        task = ray.remote(**self.remote)(run_on_node)
        environment = {key: value for key, value in os.environ.items() if key.startswith(FORWARDED)}
        state = Singleton.get_state()
        jobs = []
        for number, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{number} : {' '.join(filter_overrides(overrides))}")
            config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(config):
                config.hydra.job.id, config.hydra.job.num = f"{config.hydra.job.name}_{number}", number
            reference = task.remote(self.hydra_context, config, self.task_function, state, environment)
            jobs.append((number, config, reference))
        return [self.collect(number, config, reference) for number, config, reference in jobs]

    def collect(self, number, config, reference):
        """The job's JobReturn; a job lost with its node or worker is a FAILED one (its MLflow run
        ended FAILED too), which the sweeper logs and counts, not the end of the sweep."""
        import ray

        try:
            return ray.get(reference)
        except ray.exceptions.RayError as error:  # WorkerCrashedError, NodeDiedError ...
            reason = f"Ray lost the job ({type(error).__name__}: {first_sentence(error)})"
            if config.get("tracking", {}).get("enabled"):
                from xaiexp.tracking.sweep import fail_lost_job

                fail_lost_job(number, reason)
            return JobReturn(overrides=list(config.hydra.overrides.task), cfg=config,
                             hydra_cfg=config, status=JobStatus.FAILED, _return_value=JobLost(reason))


def run_on_node(hydra_context, config, task_function, singleton_state, environment):
    """One job inside a Ray worker: Hydra's state and the sweep's environment as in the sweep's
    process, then Hydra's ``run_job``."""
    import ray

    setup_globals()
    Singleton.set_state(singleton_state)
    os.environ.update(environment)
    context = ray.get_runtime_context()
    os.environ[NODE_ENV] = f"{ray.util.get_node_ip_address()} (ray node {context.get_node_id()})"
    return run_job(hydra_context=hydra_context, task_function=task_function, config=config,
                   job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")


def alive_nodes():
    import ray

    return [node for node in ray.nodes() if node.get("Alive")]


def first_sentence(error):
    """e.g. "Task failed because the node it was running on is dead or unavailable"."""
    return (str(error).strip().splitlines() or [""])[0].split(". ")[0][:300]
