"""A run's whole life, whatever ends its process: what a killed process kept in its outbox is
sent by the next start on the run, a run whose outbox says FINISHED is FINISHED, a killed sweep's
parent is ended, and a hung server costs one bounded wait. Real ``mlflow server``, real
processes killed with SIGKILL (``XAIEXP_FAULT``), server stopped with SIGSTOP."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import Metric

from tests.support.browser import wait_healthy
from tests.support.cli import run_cli
from tests.e2e.test_crash_resume import JOB, KILL_CHAIN, TIMINGS, histories
from xaiexp.tracking.outbox import Outbox, send_kept
from xaiexp.tracking.store import TrackingTarget

# Short waits while the server is stopped (the user's settings win over xaiexp's); the hung
# server test keeps xaiexp's own.
SHORT_WAITS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "5", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tracking_server):
    """The metric histories of JOB run without any trouble (embedded store; meanwhile the module's
    server starts)."""
    home = tmp_path_factory.mktemp("reference")
    result = run_cli(*JOB, env={"XAIEXP_HOME": str(home), "KERAS_HOME": str(home / "keras")})
    assert result.returncode == 0, result.stderr[-3000:]
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("xaiexp").experiment_id])
    return histories(client, run)


@pytest.fixture
def server(tracking_server):
    """The module's server, answering; continued whatever the test stopped."""
    wait_healthy(tracking_server["url"], tracking_server["process"], tracking_server["log"], timeout=180)
    yield tracking_server
    os.killpg(tracking_server["process"].pid, signal.SIGCONT)


def chain(jobs, server=None, env=None):
    """Run ``jobs`` through kill_chain.py; the server (if given) is stopped when the first job
    starts training and continued once it has ended. Returns (exit codes, everything printed)."""
    process = subprocess.Popen([sys.executable, KILL_CHAIN, json.dumps(jobs)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
    lines, plan = [], [("xaiexp-Start:", signal.SIGSTOP), ('{"fault"', signal.SIGCONT)] if server else []
    for line in process.stdout:
        lines.append(line.rstrip())
        if plan and line.startswith(plan[0][0]):
            os.killpg(server["process"].pid, plan.pop(0)[1])
    process.wait(timeout=60)
    exits = [json.loads(line)["exit"] for line in lines if line.startswith('{"fault"')]
    return exits, "\n".join(lines)


def assert_complete(client, run, reference):
    """Every key and step of the reference run, with its values (all but timings)."""
    ours = histories(client, run)
    assert sorted(ours) == sorted(reference) and "test/accuracy" in ours
    for key, expected in reference.items():
        assert [step for step, _ in ours[key]] == [step for step, _ in expected], key
        if not key.endswith(TIMINGS):
            assert ours[key] == expected, key


def runs(client, name):
    experiment = client.get_experiment_by_name(name).experiment_id
    return client.search_runs([experiment], order_by=["attributes.start_time ASC"])


@pytest.mark.slow
def test_a_resume_first_sends_what_its_killed_process_kept_even_with_a_torn_last_line(
        home, server, reference):
    """The server stops when training starts, so every epoch's metrics wait in the outbox; the
    process is killed (SIGKILL) just after it kept epoch 2's, which a kill a moment earlier would
    have torn: its last line is cut in half. ``resume=last`` sends the file first (epoch 1's eval
    metrics are nowhere else), skips the torn line with one warning (its record is in the
    checkpoint the resumed run sends), and the run ends with the uninterrupted run's history."""
    job = [f"tracking.uri={server['url']}", "name=outbox", *JOB]
    exits, output = chain([["metrics.sent:3", job]], server, SHORT_WAITS)
    assert exits == [-signal.SIGKILL], output[-3000:]
    (pending,) = home.glob("outputs/runs/*/*/tracking_outbox/pending.jsonl")
    text = pending.read_text()
    last = text.splitlines()[-1]
    pending.write_text(text[:len(text) - 1 - len(last) // 2])  # no newline, half the last record
    lines = len(text.splitlines())

    resumed = run_cli(*job[:2], "resume=last", env=SHORT_WAITS)
    assert resumed.returncode == 0 and "Traceback" not in resumed.stderr, resumed.stderr[-3000:]
    client = mlflow.MlflowClient(server["url"])
    (run,) = runs(client, "outbox")
    assert run.info.status == "FINISHED"
    assert_complete(client, run, reference)
    ours = [line for line in resumed.stderr.splitlines() if str(pending) in line]
    assert ours[0] == (f"xaiexp: skipped line {lines} of {pending}: not a whole record (its process "
                       f"died while writing it)"), ours
    assert ours[1].endswith(f"metric(s) its process left in {pending} sent") and len(ours) == 2, ours
    assert not pending.exists()


@pytest.mark.slow
def test_a_run_that_finished_while_the_server_was_away_stays_finished(home, server, reference):
    """The server stops when training starts and is continued once the run has ended FINISHED
    (its status and metrics in its outbox); the next run in the experiment sends the file
    instead of marking the run FAILED."""
    job = [f"tracking.uri={server['url']}", "name=finished_away", *JOB]
    exits, output = chain([[None, job], [None, job]], server, SHORT_WAITS)
    assert exits == [0, 0], output[-3000:]
    assert "xaiexp: the tracking server" in output and "is still unreachable" in output
    client = mlflow.MlflowClient(server["url"])
    away, after = runs(client, "finished_away")
    assert (away.info.status, after.info.status) == ("FINISHED", "FINISHED")
    assert "xaiexp.error" not in away.data.tags
    assert f"xaiexp: run {away.info.run_id}: " in output and "sent; it ended FINISHED" in output
    assert away.info.end_time < after.info.start_time  # the end time it kept, not the sending's
    assert_complete(client, away, reference)


@pytest.mark.slow
def test_a_killed_sweep_is_ended_by_the_next_start_and_counts_its_resumed_children(home):
    """A grid of 2 jobs killed (SIGKILL) in its second job after that job's first checkpoint;
    ``resume=last`` ends the parent FAILED with the reason, resumes the job, and the parent then
    counts 2 children, none failed."""
    sweep = ["-m", *JOB, "schedule.init_lr=1e-3,2e-3"]  # 3 checkpoints a job: the 4th is job 1's
    exits, output = chain([["checkpoint.renamed:4", sweep], [None, ["resume=last"]]])
    assert exits == [-signal.SIGKILL, 0], output[-3000:]
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    parent, first, second = runs(client, "xaiexp")
    assert parent.data.tags["xaiexp.sweep"] == "true"
    assert parent.info.status == "FAILED"
    assert parent.data.tags["xaiexp.error"].startswith("its process (pid ")
    assert parent.data.tags["xaiexp.error"].endswith(" died without ending the sweep")
    assert (parent.data.tags["xaiexp.children"], parent.data.tags["xaiexp.failed_children"]) == ("2", "0")
    assert (first.info.status, second.info.status) == ("FINISHED", "FINISHED")
    folder = Path(parent.data.tags["xaiexp.output_dir"])
    assert Path(second.data.tags["xaiexp.output_dir"]) == folder / "1"
    steps = {key: [step for step, _ in history] for key, history in histories(client, first).items()}
    assert {key: [step for step, _ in history] for key, history in histories(client, second).items()} == steps


@pytest.mark.slow
def test_a_hung_server_costs_one_bounded_wait(home, server, reference):
    """The server stops (SIGSTOP) when training starts and never answers again: the first send
    waits MLflow's retries out once (3 tries of 20 s, xaiexp's defaults), every later call asks
    /health for 2 s (the run's end tries once for 2 s), and the run ends (its last line) within
    90 s of the stop, every metric and FINISHED kept in its outbox."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_HTTP_")}
    command = [sys.executable, "-m", "xaiexp", f"tracking.uri={server['url']}", "name=hung", *JOB]
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines, stopped, ended = [], None, None
    for line in job.stdout:
        lines.append(line.rstrip())
        if line.startswith("xaiexp-Start:"):
            os.killpg(server["process"].pid, signal.SIGSTOP)
            stopped = time.monotonic()
        elif line.startswith("xaiexp: run ") and " finished in experiment " in line:
            ended = time.monotonic()
    job.wait(timeout=60)
    output = "\n".join(lines)
    assert job.returncode == 0 and "Traceback" not in output and ended, output[-3000:]
    print(f"the run ended {ended - stopped:.1f} s after its server stopped")
    assert ended - stopped < 90, f"{ended - stopped:.0f} s after the stop\n{output[-3000:]}"
    said = [line for line in lines if line.startswith("xaiexp: the tracking server")]
    assert "went away (no answer in time)" in said[0] and "is still unreachable" in said[-1], said
    (pending,) = home.glob("outputs/runs/*/*/tracking_outbox/pending.jsonl")
    kept = [json.loads(line) for line in pending.read_text().splitlines()]
    assert kept[-1]["status"] == "FINISHED"
    steps = {}
    for record in kept:
        if "metric" in record:
            steps.setdefault(record["metric"][0], []).append(record["metric"][3])
    assert steps == {key: [step for step, _ in history] for key, history in reference.items()}


def test_a_torn_line_is_skipped_in_one_line_and_the_next_record_starts_a_line_of_its_own(
        tmp_path, monkeypatch, capsys):
    """What a process killed while appending leaves, then appended to by the next one: both
    whole records are sent, the torn one is named."""
    target = TrackingTarget.embedded(tmp_path)
    target.ensure_store()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", target.uri)
    client = mlflow.MlflowClient(target.uri)
    run_id = client.create_run(client.create_experiment("torn")).info.run_id
    outbox = Outbox.of(run_id, tmp_path / "outbox")
    outbox.away = True  # a SQLite store has no /health: it stays away, and keeps what it is sent
    outbox.send_metrics([Metric("eval/accuracy", 0.5, 1000, 2)])
    with open(outbox.pending, "a") as file:
        file.write('{"metric": ["eval/accuracy", 0.7')
    outbox.send_metrics([Metric("eval/accuracy", 0.75, 3000, 6)])
    capsys.readouterr()  # MLflow's lines about the new store
    assert send_kept(client, run_id, outbox.pending) == (2, None)
    assert capsys.readouterr().err == (f"xaiexp: skipped line 2 of {outbox.pending}: not a whole "
                                       f"record (its process died while writing it)\n")
    history = client.get_metric_history(run_id, "eval/accuracy")
    assert sorted((m.step, m.value) for m in history) == [(2, 0.5), (6, 0.75)]
    assert not outbox.pending.exists()
