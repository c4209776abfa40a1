"""Composition and validation: fast, no TensorFlow."""

import http.server
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from xaiexp.cli import COMPOSITION_ERRORS, compose_config, config_dir, describe

GROUPS = {p.name: sorted(f.stem for f in p.glob("*.yaml")) for p in Path(config_dir()).iterdir() if p.is_dir()}


def test_default_config_matches_the_design():
    cfg = compose_config([])
    assert (cfg.dataset.name.value, cfg.model.name.value, cfg.schedule.name.value) == ("shapes", "lenet", "cosine")
    assert cfg.explain.enabled and cfg.tracking.enabled
    assert {k: cfg[k] for k in ("name", "seed", "epochs", "batch_size", "log_steps")} == \
        {"name": "xaiexp", "seed": 0, "epochs": 5, "batch_size": 32, "log_steps": 100}
    assert cfg.tracking.experiment == "xaiexp"


def test_explain_defaults_are_the_four_classic_columns_and_the_cheap_metrics():
    explain = compose_config([]).explain
    assert [m.value for m in explain.methods] == ["vanilla", "smoothgrad", "integrated", "smint"]
    assert [m.value for m in explain.metrics] == ["relevance_mass", "pointing_game", "deletion_auc",
                                                  "insertion_auc"]
    assert (explain.occlusion.patch, explain.occlusion.stride) == (4, 4)
    chosen = compose_config(["explain.methods=[vanilla,integrated]", "explain.smoothing=0",
                             "explain.metrics=[randomization,completeness]"]).explain
    assert [m.value for m in chosen.metrics] == ["randomization", "completeness"]


def health_server():
    """A local HTTP server that answers every GET with 200 OK; returns its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Ok", (http.server.BaseHTTPRequestHandler,), {
        "do_GET": lambda self: (self.send_response(200), self.end_headers()),
        "log_message": lambda self, *args: None}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


@pytest.mark.parametrize("group,option", [(g, o) for g, options in GROUPS.items() for o in options
                                          if g != "hparams_search"])
def test_every_group_option_composes(group, option, tmp_path, monkeypatch):
    if option == "server":  # tracking=server: a stand-in server answering /health like MLflow's
        monkeypatch.setenv("MLFLOW_TRACKING_URI", health_server())
    if option == "npz":
        np.savez(tmp_path / "data.npz", x=np.zeros((4, 32, 32, 3), np.uint8), y=np.arange(4) % 2)
    extra = [f"dataset.path={tmp_path / 'data.npz'}"] if option == "npz" else []
    cfg = compose_config([f"{group}={option}", *extra])
    assert cfg is not None
    if option == "server":
        assert cfg.tracking.uri.startswith("http://127.0.0.1:")


def test_seed_experiment_is_the_tutorial():
    cfg = compose_config(["experiment=cifar10_saliency"])
    assert cfg.dataset.name.value == "cifar10" and cfg.model.name.value == "lenet"
    assert (cfg.batch_size, cfg.epochs, cfg.log_steps) == (32, 5, 1000)
    assert (cfg.schedule.optimizer.value, cfg.schedule.init_lr, cfg.schedule.cycle_length) == ("adam", 1e-3, 3750)
    assert (cfg.explain.samples, cfg.explain.smoothing, list(cfg.explain.integrating)) == (5, 25, [100, 6])
    assert cfg.dataset.test_split == 0.5 and cfg.name == "cifar10_saliency"


@pytest.mark.parametrize("override,expected", [
    ("schedule.init_lrr=1", "schedule.init_lrr: unknown key (did you mean init_lr?); allowed: name, optimizer, init_lr"),
    ("+foo=1", "foo: unknown key"),
    ("+model.depth=3", "model.depth: unknown key"),
    ("model=lenett", "model=lenett: no such option; choose from cnn, lenet"),
    ("epochs=abc", "epochs: Value 'abc' of type 'str' could not be converted to Integer"),
    ("schedule.optimizer=adamx", "schedule.optimizer: Invalid value 'adamx', expected one of [adam, adamw, sgd, rmsprop]"),
    ("epochs=0", "epochs: must be >= 1"),
    ("batch_size=-3", "batch_size: must be >= 1"),
    ("schedule.init_lr=0", "schedule.init_lr: must be > 0"),
    ("schedule.min_lr=0.1", "schedule.min_lr: must be in [0, init_lr=0.001]"),
    ("dataset.test_split=1.5", "dataset.test_split: must be in (0, 1)"),
    ("explain.samples=0", "explain.samples: must be >= 1"),
    ("explain.smoothing=-1", "explain.smoothing: must be >= 0"),
    ("explain.methods=[vanilla,lime]", "explain.methods[1]: Invalid value 'lime', expected one of "
                                       "[vanilla, smoothgrad, integrated, smint, gradient_x_input, vargrad, gradcam, occlusion]"),
    ("explain.metrics=[accuracy]", "explain.metrics[0]: Invalid value 'accuracy', expected one of "
                                   "[relevance_mass, pointing_game, deletion_auc, insertion_auc, randomization, completeness]"),
    ("explain.methods=[]", "explain.methods: must name at least one of vanilla, smoothgrad"),
    ("explain.smoothing=0", "explain.smoothing: must be >= 1 while explain.methods has smoothgrad, got 0; "
                            "raise it or remove smoothgrad from explain.methods"),
    ("explain.integrating=[100,0]", "explain.integrating[1]: must be >= 1 while explain.methods has smint"),
    ("explain.occlusion.stride=0", "explain.occlusion.stride: must be >= 1, got 0"),
    ("dataset=npz", "dataset.path: dataset=npz needs dataset.path="),
    ("dataset.path=/no/such/file.npz", "dataset.path: no such file or folder: /no/such/file.npz"),
])
def test_bad_input_names_the_key(override, expected):
    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config([override])
    message = describe(error.value)
    assert expected in message
    assert "\n" not in message


def _run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"], ["epochs=0"]])
def test_cli_answers_without_importing_tensorflow(args):
    code = ("import sys; from xaiexp.cli import main\n"
            "try:\n    main(%r)\nexcept SystemExit as e:\n    code = e.code\n"
            "else:\n    code = 0\n"
            "print('TF-IMPORTED' if 'tensorflow' in sys.modules else 'NO-TF', code)") % (args,)
    result = _run_python(code)
    assert result.stdout.strip().splitlines()[-1] in ("NO-TF 0", "NO-TF None", "NO-TF 2"), result.stderr


def test_help_is_fast_and_lists_the_groups():
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "xaiexp", "--help"], capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0
    assert "dataset: cifar10, fashion_mnist, mnist, npz, shapes" in result.stdout
    assert elapsed < 2.0, f"--help took {elapsed:.2f} s"


def test_bad_override_exits_2_with_one_line():
    result = subprocess.run([sys.executable, "-m", "xaiexp", "schedule.init_lrr=3e-4"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("xaiexp: error: schedule.init_lrr: unknown key (did you mean init_lr?); "
                                     "allowed: name, optimizer, init_lr, min_lr, cycle_length, cycle_multiplier")
