"""A run's logged config is data, not code (README "Security"): tampered stores reached through
the MLflow API alone, read back by real ``xaiexp explain`` / ``xaiexp resume`` processes, run
nothing; the working directory never shadows an installed package."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import pytest
import yaml
from omegaconf import OmegaConf

from tests.support.browser import _stop_group, free_port, wait_healthy
from tests.support.cli import run_cli
from tests.support.user_model import MODULE
from xaiexp.app.cli import compose_config, config_dir
from xaiexp.app.config.stored import read_stored, trusted_targets
from xaiexp.tracking.lookup import find_run
from xaiexp.tracking.lookup import logged_config as stored_yaml
from xaiexp.tracking.store import TrackingTarget
from xaiexp.util.errors import ConfigError

SECRET = "s3cr3t-value-4b1d"
PLANTED = ("filelock", "numpy", "yaml", "mlflow_planted")  # modules a working folder may hold


def store_uri(home):
    return f"sqlite:///{home}/outputs/mlflow.db"


def logged_config(**changes):
    """A real run's logged config (the default experiment's, resolved), with ``changes``
    (dotted key -> value) written into it as someone with access to the store could."""
    config = OmegaConf.to_container(compose_config([]), resolve=True, enum_to_str=True)
    for key, value in changes.items():
        node, _, name = key.rpartition(".")
        parent = config
        for part in filter(None, node.split(".")):
            parent = parent[part]
        parent[name] = value
    return config


def log_run(home, config, status="FINISHED", tags=None, name="planted", uri=None):
    """A run made with MLflow's client alone, as anyone who can write to a shared store can:
    its config.yaml and a model/ artifact, in the store under ``home`` (or at ``uri``). Returns
    its id."""
    client = mlflow.MlflowClient(uri or store_uri(home))
    found = client.get_experiment_by_name("xaiexp")
    experiment = found.experiment_id if found else client.create_experiment(
        "xaiexp", artifact_location=None if uri else (home / "outputs" / "mlartifacts").as_uri())
    run = client.create_run(experiment, run_name=name, tags=tags or {})
    with tempfile.TemporaryDirectory() as folder:
        if config is not None:  # a str: the file's text as it is
            Path(folder, "config.yaml").write_text(config if isinstance(config, str) else yaml.safe_dump(config))
            client.log_artifact(run.info.run_id, str(Path(folder, "config.yaml")))
        Path(folder, "model_best_accuracy.keras").write_bytes(b"not read: refused before")
        client.log_artifact(run.info.run_id, str(Path(folder, "model_best_accuracy.keras")), "model")
    client.set_terminated(run.info.run_id, status)
    return run.info.run_id


def statuses(home, uri=None):
    client = mlflow.MlflowClient(uri or store_uri(home))
    return sorted(run.info.status for experiment in client.search_experiments()
                  for run in client.search_runs([experiment.experiment_id]))


def refused_line(result):
    """The one line a refusal prints last; no traceback anywhere."""
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def attacks(marker):
    """(dotted key, tampered value, the key the refusal names, the target it names)."""
    return [
        ("dataset", {"_target_": "shutil.copyfile", "src": __file__, "dst": str(marker)},
         "dataset._target_", "shutil.copyfile"),
        ("optimizer.learning_rate", {"_target_": "builtins.open", "file": str(marker), "mode": "w"},
         "optimizer.learning_rate._target_", "builtins.open"),
        ("schedule", {"_target_": "mlflow.utils.process._exec_cmd", "cmd": ["touch", str(marker)]},
         "schedule._target_", "mlflow.utils.process._exec_cmd"),
        ("dataset._args_", [{"_target_": "os.system", "_args_": [f"touch {marker}"]}],
         "dataset._args_[0]._target_", "os.system"),
        ("traces.evil", {"_target_": "builtins.exec", "_args_": ["import os"]},
         "traces.evil._target_", "builtins.exec"),
    ]


def untrusted(run_id, key, target):
    return (f"{key}: {target!r} in run {run_id}'s logged config is neither xaiexp's nor named by "
            f"your command: refused (to trust it, name it: {key}={target})")


def read(config, *overrides):
    """``config`` read back as ``resume`` reads it, by a command with these ``overrides``."""
    trusted = trusted_targets(compose_config(overrides), [config_dir()], overrides)
    return read_stored(config, "r1", "resume", {}, trusted)


@pytest.mark.parametrize("case", range(5))
def test_a_target_neither_xaiexp_nor_the_command_names_is_refused(home, tmp_path, case):
    key, value, named, target = attacks(tmp_path / "marker")[case]
    with pytest.raises(ConfigError) as error:
        read(logged_config(**{key: value}))
    assert str(error.value) == untrusted("r1", named, target)


def test_a_target_the_command_names_is_read(home, tmp_path, monkeypatch):
    (tmp_path / "mymodels.py").write_text("def tiny(input_shape, classes, filters=4):\n    pass\n")
    monkeypatch.chdir(tmp_path)  # a user's module, found in the working directory
    config = logged_config(model={"_target_": "mymodels.tiny", "filters": 4})
    with pytest.raises(ConfigError, match="^model._target_: 'mymodels.tiny' in run r1"):
        read(config)
    assert read(config, "model._target_=mymodels.tiny", "~model.width").model.filters == 4
    (tmp_path / "conf" / "model").mkdir(parents=True)  # or a --config-dir YAML names it
    (tmp_path / "conf" / "model" / "tiny.yaml").write_text("_target_: mymodels.tiny\n")
    trusted = trusted_targets(compose_config([]), [config_dir(), str(tmp_path / "conf")])
    assert read_stored(config, "r1", "resume", {}, trusted).model._target_ == "mymodels.tiny"
    assert "mymodels" not in sys.modules  # read, never imported


@pytest.mark.parametrize("key, message", [
    ("explain.new_option", "explain.new_option: in run r1's logged config: a key xaiexp 0.1.0 does "
                           "not know (logged by another version?): refused"),
    ("new_top_key", "new_top_key: in run r1's logged config: a key xaiexp 0.1.0 does not know "
                    "(logged by another version?): refused"),
    ("dataset.colour_jitter", "dataset.colour_jitter: unknown key; allowed: _target_, test_split, "
                              "class_names, normalize, n_train, n_eval, image_size, seed, shortcut "
                              "(in run r1's logged config)"),
    ("epochs", "epochs: in run r1's logged config: Value 'three' of type 'str' could not be "
               "converted to Integer"),
])
def test_a_key_of_another_version_is_one_line_naming_it_and_the_run(home, key, message):
    with pytest.raises(ConfigError) as error:
        read(logged_config(**{key: "three" if key == "epochs" else 3}))
    assert str(error.value) == message


@pytest.mark.parametrize("folder", ["/home/someone/.ssh", "~/.config", "../../elsewhere", "a/../../b"])
def test_a_logged_trace_writes_inside_the_runs_folder_only(home, folder):
    config = logged_config(**{"traces.best_model_saver.save_dir": folder})
    with pytest.raises(ConfigError) as error:
        read(config)
    assert str(error.value) == (f"traces.best_model_saver.save_dir: run r1's logged config has a trace "
                                f"write to {folder!r}, outside the run's folder: refused")
    assert read(logged_config(**{"traces.best_model_saver.save_dir": "a/../models"}))


@pytest.mark.parametrize("text, problem", [
    ("a: &x [1, 2]\nb: [*x, *x]\n", "holds YAML aliases, which xaiexp never writes: refused"),
    ("name: [unclosed\n", "is not YAML data (while parsing a flow sequence): refused"),
    ("[" * 100_000 + "]" * 100_000, "nests deeper than 32 levels: refused"),  # parsed whole: minutes
    (None, "cannot be read (MlflowException): was the run started by xaiexp?"),
], ids=["aliases", "unparsable", "deep", "missing"])
def test_a_logged_config_that_is_not_plain_yaml_is_one_line(home, text, problem):
    run_id = log_run(home, text)
    client = mlflow.MlflowClient(store_uri(home))
    with pytest.raises(ConfigError) as error:
        stored_yaml(client, client.get_run(run_id), "explain_run")
    assert str(error.value).startswith(f"explain_run: run {run_id}'s config.yaml {problem}")


@pytest.mark.slow
def test_a_tampered_run_logged_through_the_mlflow_api_runs_nothing(home, tmp_path):
    marker = tmp_path / "marker"
    for key, value, named, target in attacks(marker)[:2]:
        run_id = log_run(home, logged_config(**{key: value}))
        result = run_cli("explain", "explain_run=last")
        assert refused_line(result) == f"xaiexp: error: {untrusted(run_id, named, target)}"
        assert not marker.exists() and set(statuses(home)) == {"FINISHED"}  # nothing ran or started


@pytest.mark.slow
def test_a_tampered_run_on_a_shared_tracking_server_runs_nothing(home, tmp_path):
    marker, port = tmp_path / "marker", free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
             "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
             "--artifacts-destination", str(tmp_path / "artifacts")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_healthy(url, server, log, timeout=300)
            key, value, named, target = attacks(marker)[2]
            run_id = log_run(home, logged_config(**{key: value}), uri=url)  # the REST API alone
            result = run_cli("explain", "explain_run=last", f"tracking.uri={url}")
            assert refused_line(result) == f"xaiexp: error: {untrusted(run_id, named, target)}"
            assert not marker.exists() and statuses(home, url) == ["FINISHED"]
        finally:
            _stop_group(server)


@pytest.mark.slow
def test_a_stored_interpolation_is_refused_never_resolved(home):
    run_id = log_run(home, logged_config(**{"dataset.class_names": ["${oc.env:XAIEXP_TEST_SECRET}"]}))
    result = run_cli("explain", "explain_run=last", env={"XAIEXP_TEST_SECRET": SECRET})
    assert refused_line(result) == (
        f"xaiexp: error: dataset.class_names[0]: run {run_id}'s logged config holds the "
        f"interpolation '${{oc.env:XAIEXP_TEST_SECRET}}'; xaiexp logs configs resolved, so it was "
        f"altered: refused (nothing was resolved)")
    assert SECRET not in result.stderr + result.stdout and statuses(home) == ["FINISHED"]
    run_id = log_run(home, logged_config(**{"explain.new_option": 3}))
    assert refused_line(run_cli("explain", "explain_run=last")) == (
        f"xaiexp: error: explain.new_option: in run {run_id}'s logged config: a key xaiexp 0.1.0 "
        f"does not know (logged by another version?): refused")


@pytest.mark.slow
def test_resume_of_a_tampered_killed_run_runs_nothing(home, tmp_path):
    marker, folder = tmp_path / "marker", tmp_path / "run"
    (folder / "checkpoint" / "ckpt-000001").mkdir(parents=True)
    evil = {"_target_": "builtins.open", "file": str(marker), "mode": "w"}
    run_id = log_run(home, logged_config(**{"traces.evil": evil}), status="KILLED",
                     tags={"xaiexp.output_dir": str(folder)})
    assert refused_line(run_cli("resume=last")) == (
        f"xaiexp: error: traces.evil._target_: 'builtins.open' in run {run_id}'s logged config is "
        f"neither xaiexp's nor named by your command: refused (to trust it, name it: "
        f"traces.evil._target_=builtins.open)")
    assert not marker.exists() and statuses(home) == ["KILLED"]


def plant_modules(folder, markers):
    """Modules in ``folder`` named like installed packages, each writing a file if imported."""
    for name in PLANTED:
        (folder / f"{name}.py").write_text(f"open({str(markers / name)!r}, 'w').close()\n")


def entry_points():
    """The ways a user starts xaiexp: ``python -m xaiexp`` and the installed ``xaiexp`` script."""
    script = shutil.which("xaiexp")
    return [[sys.executable, "-m", "xaiexp"], *([[script]] if script else [])]


@pytest.mark.slow
@pytest.mark.parametrize("command", entry_points(), ids=lambda c: "module" if len(c) > 1 else "script")
def test_modules_in_the_working_directory_never_shadow_installed_ones(home, tmp_path, command):
    work, markers = tmp_path / "photos", tmp_path / "markers"
    work.mkdir()
    markers.mkdir()
    plant_modules(work, markers)
    log_run(home, logged_config(**{"dataset._target_": "mlflow_planted.load"}))
    result = subprocess.run([*command, "explain", "explain_run=last"], cwd=work, capture_output=True,
                            text=True, timeout=300)
    assert "'mlflow_planted.load' in run" in refused_line(result)  # filelock, numpy, yaml imported
    assert list(markers.iterdir()) == []


@pytest.mark.slow
def test_a_killed_run_of_a_users_model_resumes_once_the_command_names_it(home, tmp_path):
    project, markers = tmp_path / "project", tmp_path / "markers"
    project.mkdir()
    markers.mkdir()
    (project / "mymodels.py").write_text(MODULE)  # found in the working folder, as a user's
    plant_modules(project, markers)
    model = ["model._target_=mymodels.tiny", "~model.width"]

    def xaiexp(*args, **env):
        return subprocess.run([sys.executable, "-m", "xaiexp", *args], cwd=project, capture_output=True,
                              text=True, timeout=600, env={**os.environ, **env})

    killed = xaiexp(*model, "dataset.n_train=64", "dataset.n_eval=32", "epochs=2", "batch_size=32",
                    "explain=none", XAIEXP_FAULT="estimator.step:3")  # SIGKILL in epoch 2
    assert killed.returncode == -9, killed.stderr[-2000:]
    line = refused_line(xaiexp("resume=last"))
    assert line.startswith("xaiexp: error: model._target_: 'mymodels.tiny' in run ")
    resumed = xaiexp("resume=last", *model)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert statuses(home) == ["FINISHED"] and list(markers.iterdir()) == []


@pytest.mark.slow
def test_an_ambiguous_run_id_prefix_lists_the_candidates(home):
    ids = [log_run(home, logged_config(), name=f"run{i}") for i in range(17)]  # 16 first digits
    shared = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in ids) > 1)
    candidates = sorted(i for i in ids if i.startswith(shared))
    line = refused_line(run_cli("explain", f"explain_run={shared}"))
    assert line.startswith(f"xaiexp: error: explain_run: run id prefix '{shared}' is ambiguous: ")
    assert line.endswith("; give more of it") and all(i in line for i in candidates[:5])
    target = TrackingTarget.from_config(store_uri(home), str(home))
    unique = next(i[:n] for i in ids for n in range(1, 33) if sum(j.startswith(i[:n]) for j in ids) == 1)
    _, run = find_run(target, "xaiexp", unique, "explain_run", None, "run")
    assert run.info.run_id.startswith(unique) and len(unique) < 32
    with pytest.raises(ConfigError, match="explain_run: no run 'zz' in"):
        find_run(target, "xaiexp", "zz", "explain_run", None, "run")
