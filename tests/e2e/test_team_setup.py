"""README "Team setup": PostgreSQL, an MLflow server on it with proxied artifacts, Optuna studies in
the same PostgreSQL, sweep jobs on a two-node Ray cluster, all real and on 127.0.0.1 inside a
private network namespace (tests/support/services.py), started by the tests and stopped even on failure."""

import json
import os
import signal
import sys

import pytest

from tests.support.cli import TINY
from tests.support import ROOT
from tests.support.services import MlflowServer, Namespace, PostgreSQL, RayCluster, Slurm, free_port

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")]

SERVER_WIDE = ["tracking=server", "explain.samples=2", "explain.smoothing=3", "explain.integrating=[4,2]"]


@pytest.fixture(scope="module")
def namespace():
    made = Namespace()
    yield made
    made.stop()


@pytest.fixture(scope="module")
def postgres(namespace):
    server = PostgreSQL(namespace)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def team(namespace, postgres, tmp_path_factory):
    """PostgreSQL, an MLflow server on its ``mlflow`` database, and the environment of a team
    member's shell: MLFLOW_TRACKING_URI set, this checkout first on the path."""
    folder = tmp_path_factory.mktemp("team")
    server = MlflowServer(namespace, postgres.url("mlflow"), str(folder))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": server.url,
           "XAIEXP_HOME": str(folder / "home"), "KERAS_HOME": str(folder / "keras")}
    yield {"server": server, "env": env, "folder": folder, "postgres": postgres}
    server.stop()


@pytest.fixture(scope="module")
def ray_cluster(namespace, team):
    cluster = RayCluster(namespace, str(team["folder"]), team["env"])
    yield cluster
    cluster.stop()


def xaiexp(namespace, env, *args, timeout=900):
    return namespace.run([sys.executable, "-m", "xaiexp", *args], timeout=timeout, env=env, cwd=ROOT)


def sweep_runs(namespace, env, experiment="xaiexp"):
    """The newest sweep's parent and children in the server's store, as plain dicts."""
    out = namespace.python(f"""
        import json, mlflow
        client = mlflow.MlflowClient()
        experiment = client.get_experiment_by_name("{experiment}").experiment_id
        parent = client.search_runs([experiment], "tags.`xaiexp.sweep` = 'true'",
                                    order_by=["attributes.start_time DESC"], max_results=1)[0]
        children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{{parent.info.run_id}}'")
        plain = lambda run: {{"id": run.info.run_id, "status": run.info.status, "tags": run.data.tags,
                             "metrics": run.data.metrics}}
        print(json.dumps({{"parent": plain(parent), "children": [plain(c) for c in children]}}))
    """, env=env)
    return json.loads(out.strip().splitlines()[-1])


def test_an_optuna_sweep_on_a_two_node_ray_cluster_keeps_its_study_in_postgresql(namespace, team,
                                                                                  ray_cluster):
    env, postgres = {**team["env"], "RAY_ADDRESS": ray_cluster.address}, team["postgres"]
    storage = postgres.url("optuna")
    result = xaiexp(namespace, env, "-m", "hparams_search=optuna", "hydra/launcher=ray_cluster",
                    f"hydra.sweeper.storage={storage}", "hydra.sweeper.n_trials=6",
                    "hydra.sweeper.n_jobs=2", *TINY, "epochs=1", *SERVER_WIDE)
    assert result.returncode == 0, result.stderr[-5000:]
    runs = sweep_runs(namespace, env)
    parent, children = runs["parent"], runs["children"]
    assert [c["status"] for c in children] == ["FINISHED"] * 6
    nodes = {c["tags"]["xaiexp.node"].split("ray node ")[1].rstrip(")") for c in children}
    assert nodes == set(ray_cluster.nodes)  # both nodes ran jobs
    assert parent["status"] == "FINISHED"
    assert parent["tags"]["xaiexp.best_child_run_id"] in {c["id"] for c in children}
    assert parent["tags"]["xaiexp.optuna.storage"] == storage
    assert postgres.sql("optuna", "SELECT count(*) FROM trials WHERE state = 'COMPLETE'") == "6"
    report = xaiexp(namespace, env, "report", "--sweep", "last", "--uri", team["server"].url)
    assert report.returncode == 0, report.stderr[-3000:]
    assert report.stdout.count("FINISHED") >= 6 or len(report.stdout.splitlines()) > 6, report.stdout


def test_a_node_killed_mid_sweep_fails_only_its_jobs(namespace, team, ray_cluster):
    """The worker node is killed (its raylet and its processes) while it trains a job: that job's
    run ends FAILED naming the loss, the other finishes on the head node, and the sweep ends with
    its answer."""
    env = {**team["env"], "RAY_ADDRESS": ray_cluster.address}
    worker = next(node for node, head in ray_cluster.nodes.items() if not head)
    sweep = namespace.popen([sys.executable, "-m", "xaiexp", "-m", "hydra/launcher=ray_cluster",
                             "schedule.init_lr=1e-3,2e-3", *TINY, "epochs=6", "name=killed",
                             *SERVER_WIDE], team["folder"] / "killed.log", env=env, cwd=ROOT)
    namespace.python(f"""
        import time, mlflow
        client = mlflow.MlflowClient()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if "xaiexp: error" in open("{team['folder'] / 'killed.log'}").read():
                raise SystemExit("the sweep failed before a job started")
            experiment = client.get_experiment_by_name("killed")
            running = experiment and client.search_runs([experiment.experiment_id],
                "attributes.status = 'RUNNING' and tags.`xaiexp.node` LIKE '%{worker}%'")
            if running:
                break
            time.sleep(1)
        else:
            raise SystemExit("no job started on the worker node")
    """, env=env, timeout=700)
    assert ray_cluster.kill_worker_node()
    assert sweep.wait(timeout=900) == 0, (team["folder"] / "killed.log").read_text()[-5000:]
    runs = sweep_runs(namespace, env, "killed")
    statuses = sorted(c["status"] for c in runs["children"])
    assert statuses == ["FAILED", "FINISHED"], statuses
    lost = next(c for c in runs["children"] if c["status"] == "FAILED")
    assert worker in lost["tags"]["xaiexp.node"]
    # named by the launcher, or by a run started on the head meanwhile (its dead-run check)
    assert "Ray lost the job" in lost["tags"]["xaiexp.error"] or "died without ending" in lost["tags"]["xaiexp.error"]
    assert runs["parent"]["status"] == "FINISHED"
    assert runs["parent"]["tags"]["xaiexp.failed_children"] == "1"


@pytest.fixture(scope="module")
def slurm(namespace):
    cluster = Slurm(namespace)
    yield cluster
    cluster.stop()


def test_a_slurm_sweep_of_two_jobs_finishes_with_both_children_in_the_store(namespace, team, slurm):
    env = {**team["env"], **slurm.env}
    result = xaiexp(namespace, env, "-m", "hydra/launcher=slurm", "schedule.init_lr=1e-3,3e-3", *TINY,
                    "epochs=1", "name=slurm", *SERVER_WIDE, "hydra.launcher.partition=debug",
                    "hydra.launcher.gpus_per_node=0", "hydra.launcher.cpus_per_task=1",
                    "hydra.launcher.mem_gb=1", "hydra.launcher.timeout_min=20")
    assert result.returncode == 0, result.stderr[-5000:]
    runs = sweep_runs(namespace, env, "slurm")
    assert [c["status"] for c in runs["children"]] == ["FINISHED"] * 2
    assert {c["tags"]["xaiexp.node"] for c in runs["children"]} == {"xaiexp"}  # the Slurm node's name
    assert runs["parent"]["status"] == "FINISHED"


def metric_histories(namespace, env, experiment):
    """{run name: {metric key: [(step, value), ...]}} of an experiment on the server."""
    out = namespace.python(f"""
        import json, mlflow
        client = mlflow.MlflowClient()
        experiment = client.get_experiment_by_name("{experiment}").experiment_id
        histories = {{}}
        for run in client.search_runs([experiment]):
            histories[run.info.run_id] = {{key: sorted((m.step, m.value) for m in
                                                      client.get_metric_history(run.info.run_id, key))
                                          for key in run.data.metrics}}
        print(json.dumps(histories))
    """, env=env)
    return json.loads(out.strip().splitlines()[-1])


def test_two_workers_train_one_run_that_matches_one_worker(namespace, team):
    """distribute=multi_worker over two processes (TF_CONFIG on 127.0.0.1) logs one MLflow run
    whose every metric equals, within 1e-4 relative, a single process's at the same global batch."""
    env, ports = team["env"], [free_port(), free_port()]
    config = [*TINY, *SERVER_WIDE, "deterministic=true"]
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                                "task": {"type": "worker", "index": index}})
        workers.append(namespace.popen([sys.executable, "-m", "xaiexp", *config, "distribute=multi_worker",
                                        "name=two_workers"], team["folder"] / f"worker{index}.log",
                                       env={**env, "TF_CONFIG": tf_config}, cwd=ROOT))
    single = xaiexp(namespace, env, *config, "name=one_worker")
    assert single.returncode == 0, single.stderr[-3000:]
    for index, worker in enumerate(workers):
        assert worker.wait(timeout=600) == 0, (team["folder"] / f"worker{index}.log").read_text()[-3000:]
    (two,), (one,) = metric_histories(namespace, env, "two_workers").values(), \
        metric_histories(namespace, env, "one_worker").values()
    timings = {key for key in one if "sec" in key or "time" in key}  # steps/sec, epoch_time: clocks
    assert set(two) == set(one) and "eval/accuracy" in one and "train/ce" in one
    for key in set(one) - timings:
        assert [step for step, _ in two[key]] == [step for step, _ in one[key]], key
        assert [value for _, value in two[key]] == pytest.approx([value for _, value in one[key]], rel=1e-4), key


def test_eight_runs_logging_at_once_to_the_server_lose_nothing(namespace, team):
    """benchmarks/tracking_load.py, bounded: 8 processes, each a run with 10 steps of 10 metrics,
    2 figures and 10 tags, against the PostgreSQL-backed server; every value is read back."""
    out = namespace.python(f"""
        import json, sys
        sys.path.insert(0, "{ROOT}/benchmarks")
        from tracking_load import load, summary
        reports, lost = load("{team['server'].url}", runs=8, steps=10, figure_every=5)
        print(json.dumps({{"lost": lost, "summary": summary(reports)}}))
    """, env=team["env"], timeout=900)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["lost"] == []
    assert result["summary"]["runs_per_min"] > 0


def test_resume_explain_and_ui_work_against_the_server(namespace, team):
    """A run on the server stopped with SIGTERM after its first epoch is resumed with
    ``resume=last``, then explained with ``explain_run=last``: both found through the server."""
    env, log = team["env"], team["folder"] / "stopped.log"
    run = namespace.popen([sys.executable, "-m", "xaiexp", *TINY, "epochs=4", *SERVER_WIDE, "name=stopped"],
                          log, env=env, cwd=ROOT)
    namespace.wait_until(lambda: "xaiexp-Eval:" in log.read_text() or run.poll() is not None, 600,
                         "the first eval epoch")
    for pid in namespace.pids("name=stopped"):
        os.kill(pid, signal.SIGTERM)
    assert run.wait(timeout=300) == 130, log.read_text()[-3000:]
    resumed = xaiexp(namespace, env, "resume=last", *SERVER_WIDE, "name=stopped")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    explained = xaiexp(namespace, env, "explain", "explain_run=last", *SERVER_WIDE, "name=stopped")
    assert explained.returncode == 0, explained.stderr[-3000:]
    statuses = namespace.python("""
        import mlflow
        client = mlflow.MlflowClient()
        experiment = client.get_experiment_by_name("stopped").experiment_id
        print(sorted(run.info.status for run in client.search_runs([experiment])))
    """, env=env)
    assert statuses.strip() == "['FINISHED', 'FINISHED']"  # the resumed run and its explanation
    ui = xaiexp(namespace, env, "ui", "--uri", team["server"].url, timeout=60)
    assert ui.returncode == 0 and f"open {team['server'].url}/#/" in ui.stderr, ui.stderr

def refused(namespace, env, *overrides):
    """The command's one line, from a refusal before any run (exit 2)."""
    result = xaiexp(namespace, env, *overrides, timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_databases_and_clusters_that_cannot_serve_are_one_line_each(namespace, team):
    env, postgres = team["env"], team["postgres"]
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/optuna"
    optuna = ["-m", "hparams_search=optuna", "tracking=server"]
    line = refused(namespace, env, *optuna, f"hydra.sweeper.storage={dead}")
    assert line.startswith("xaiexp: error: hydra.sweeper.storage: cannot reach the database ") and \
        "Connection refused" in line
    line = refused(namespace, env, *optuna, f"hydra.sweeper.storage={postgres.url('nope')}")
    assert 'database "nope" does not exist' in line
    line = refused(namespace, env, *optuna, f"hydra.sweeper.storage={postgres.url('mlflow')}")
    assert "is MLflow's tracking database (it holds " in line
    tables = postgres.sql("mlflow", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'studies'")
    assert tables == "0"  # left untouched
    line = refused(namespace, env, "-m", "hydra/launcher=ray_cluster", "tracking=server",
                   f"hydra.launcher.address=127.0.0.1:{free_port()}", "seed=1,2")
    assert "hydra.launcher.address: no Ray cluster answers at 127.0.0.1:" in line


def test_a_server_whose_database_is_down_is_one_line(namespace, team):
    """Last in this file: it stops PostgreSQL (and starts it again)."""
    postgres = team["postgres"]
    postgres.pg_ctl("stop", "-m", "fast")
    try:
        line = refused(namespace, team["env"], "tracking=server", *TINY)
    finally:
        postgres.pg_ctl("start", "-w")
    assert line.startswith(f"xaiexp: error: tracking.uri: the MLflow server at {team['server'].url} answers, "
                           f"but its store does not (HTTP 5")
