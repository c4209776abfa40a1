"""Composition and validation: fast, no TensorFlow."""

import http.server
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, config_dir, error_line

GROUPS = {p.name: sorted(f.stem for f in p.glob("*.yaml")) for p in Path(config_dir()).iterdir() if p.is_dir()}


def test_default_config_matches_the_design():
    cfg = compose_config([])
    assert (cfg.dataset._target_, cfg.model._target_, cfg.optimizer._target_, cfg.schedule._target_) == (
        "xaiexp.dataset.data.shapes.load_data", "xaiexp.architecture.tensorflow.LeNet",
        "keras.optimizers.Adam", "xaiexp.schedule.cosine")
    assert cfg.explain.enabled and cfg.tracking.enabled
    assert {k: cfg[k] for k in ("name", "seed", "epochs", "batch_size", "log_steps")} == \
        {"name": "xaiexp", "seed": 0, "epochs": 5, "batch_size": 32, "log_steps": 100}
    assert cfg.tracking.experiment == "xaiexp"


def test_explain_defaults_are_the_four_classic_columns_and_the_cheap_metrics():
    explain = compose_config([]).explain
    assert list(explain.methods) == ["vanilla", "smoothgrad", "integrated", "smint"]
    assert list(explain.metrics) == ["relevance_mass", "pointing_game", "deletion_auc", "insertion_auc"]
    assert (explain.occlusion.patch, explain.occlusion.stride) == (4, 4)
    chosen = compose_config(["explain.methods=[vanilla,integrated]", "explain.smoothing=0",
                             "explain.metrics=[randomization,completeness]"]).explain
    assert list(chosen.metrics) == ["randomization", "completeness"]


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
    np.savez(tmp_path / "data.npz", x=np.zeros((8, 32, 32, 3), np.uint8), y=np.arange(8) % 2)
    for label in ("a", "b"):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for index in range(5):
            Image.new("RGB", (40, 30)).save(tmp_path / "photos" / label / f"{index}.png")
    extra = {"npz": [f"dataset.path={tmp_path / 'data.npz'}"],
             "folder": [f"dataset.path={tmp_path / 'photos'}", "dataset.image_size=32"],
             "tfds": ["dataset.name=made_up", "tracking=none"],
             "mobilenet_v2": ["model.weights=null", "model.freeze_backbone=false"],
             "resnet50": ["model.weights=null", "model.freeze_backbone=false"],
             "saved": [f"model.path={tmp_path / 'model.keras'}"],
             "box": ["decoy.top=-8", "decoy.left=0", "decoy.height=8", "decoy.width=8"],
             "border": ["decoy.width=2"]}
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:  # a whole zip: all that is checked
        archive.writestr("config.json", "{}")  # before TensorFlow starts
    if option == "tfds":
        pytest.importorskip("tensorflow_datasets")
        return  # composing needs a prepared dataset: tests/dataset/test_tfds_dataset.py
    cfg = compose_config([f"{group}={option}", *extra.get(option, [])])
    assert cfg is not None
    if option == "server":
        assert cfg.tracking.uri.startswith("http://127.0.0.1:")


def test_seed_experiment_is_the_tutorial():
    cfg = compose_config(["experiment=cifar10_saliency"])
    assert cfg.dataset._target_.endswith("cifar10.load_data") and cfg.model._target_.endswith("LeNet")
    assert (cfg.batch_size, cfg.epochs, cfg.log_steps) == (32, 5, 1000)
    assert cfg.optimizer._target_ == "keras.optimizers.Adam"
    assert (cfg.schedule.init_lr, cfg.schedule.cycle_length) == (1e-3, 3750)
    assert (cfg.explain.samples, cfg.explain.smoothing, list(cfg.explain.integrating)) == (5, 25, [100, 6])
    assert cfg.dataset.test_split == 0.5 and cfg.name == "cifar10_saliency"


@pytest.mark.parametrize("override,expected", [
    ("schedule.init_lrr=1", "schedule.init_lrr: unknown key (did you mean init_lr?); allowed: _target_, init_lr"),
    ("+foo=1", "foo: unknown key"),
    ("+model.depth=3", "model.depth: unknown key (did you mean width?); allowed: _target_, logits, width"),
    ("model.widht=3", "model.widht: unknown key (did you mean width?); allowed: _target_, logits, width"),
    ("model.width=1.5", "model.width: Value '1.5' of type 'float' could not be converted to Integer"),
    ("model=lenett", "model=lenett: no such option; choose from cnn, lenet, mobilenet_v2, resnet50"),
    ("epochs=abc", "epochs: Value 'abc' of type 'str' could not be converted to Integer"),
    ("optimizer=adamx", "optimizer=adamx: no such option; choose from adam, adamw, rmsprop, sgd"),
    ("model._target_=no_such_module.build", "model._target_: cannot find no_such_module.build: no module "
                                            "named 'no_such_module'"),
    ("model._target_=xaiexp.architecture.tensorflow.Lenet", "model._target_: cannot find "
     "xaiexp.architecture.tensorflow.Lenet: xaiexp.architecture.tensorflow has no 'Lenet'"),
    ("model._target_=xaiexp.architecture.tensorflow.CNN", "model.width"),  # CNN's schema: no error
    ("optimizer._target_=keras.optimizers.Adamm", "optimizer._target_: cannot find keras.optimizers.Adamm"),
    ("schedule._target_=keras.optimizers.schedules.CosineDecay", "schedule.init_lr: not an argument of "
     "keras.optimizers.schedules.CosineDecay; it takes: initial_learning_rate, decay_steps, alpha"),
    ("schedule=constant schedule._target_=keras.optimizers.schedules.CosineDecay ~schedule.init_lr",
     "schedule.initial_learning_rate: keras.optimizers.schedules.CosineDecay requires it: set it with "
     "+schedule.initial_learning_rate=..."),
    ("epochs=0", "epochs: must be >= 1"),
    ("batch_size=-3", "batch_size: must be >= 1"),
    ("schedule.init_lr=0", "schedule.init_lr: must be > 0"),
    ("schedule.min_lr=0.1", "schedule.min_lr: must be in [0, init_lr=0.001]"),
    ("dataset.test_split=1.5", "dataset.test_split: must be > 0 and < 1, got 1.5"),
    ("dataset.normalize=null", "ok"),
    ("dataset.image_size=8", "dataset.image_size: shapes has 8x8 images; model LeNet needs at least 18x18"),
    ("explain.samples=0", "explain.samples: must be >= 1"),
    ("explain.smoothing=-1", "explain.smoothing: must be >= 0"),
    ("explain.methods=[vanilla,lime]",
     "explain.methods: unknown 'lime'; choose from "
     "vanilla, smoothgrad, integrated, smint, gradient_x_input, vargrad, gradcam, occlusion"),
    ("explain.metrics=[accuracy]", "explain.metrics: unknown 'accuracy'; choose from "
                                   "relevance_mass, pointing_game, deletion_auc, insertion_auc, road_morf, road_lerf, "
                                   "randomization, randomization_ssim, completeness"),
    ("explain.methods=[]", "explain.methods: must name at least one of vanilla, smoothgrad"),
    ("explain.smoothing=0", "explain.smoothing: must be >= 1 while explain.methods has smoothgrad, got 0; "
                            "raise it or remove smoothgrad from explain.methods"),
    ("explain.integrating=[100,0]", "explain.integrating[1]: must be >= 1 while explain.methods has smint"),
    ("explain.occlusion.stride=0", "explain.occlusion.stride: must be >= 1, got 0"),
    ("dataset=npz", "dataset.path: is required: set it, e.g. dataset.path=..."),
    ("dataset=npz dataset.path=/no/such/file.npz", "dataset.path: /no/such/file.npz does not exist"),
    ("dataset=cifar10 dataset.shortcut=true", "dataset.shortcut: unknown key"),
    ("explain.every=2 traces.best_model_saver.metric=xai/saliency/relevance_mass",
     "explain.every: must be 1 while traces.best_model_saver.metric is xai/saliency/relevance_mass"),
    ("traces.saliency.every=2 traces.best_model_saver.metric=xai/saliency/relevance_mass",
     "traces.saliency.every: must be 1 while traces.best_model_saver.metric is"),
    ("model=mobilenet_v2 dataset.image_size=64", "model.weights: mobilenet_v2 ImageNet weights are not in "
                                                 "Keras' cache (no download here): place "),
])
def test_bad_input_names_the_key(override, expected, home):
    if expected in ("ok", "model.width"):
        assert compose_config(override.split())
        return
    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config(override.split())
    message = error_line(error.value)
    assert expected in message
    assert "\n" not in message


def _run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"], ["epochs=0"]])
def test_cli_answers_without_importing_tensorflow(args):
    code = ("import sys; from xaiexp.app.cli import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit as e:\n    code = e.code\n"
            "else:\n    code = 0\n"
            "print('TF-IMPORTED' if 'tensorflow' in sys.modules else 'NO-TF', code)")
    result = _run_python(code)
    assert result.stdout.strip().splitlines()[-1] in ("NO-TF 0", "NO-TF None", "NO-TF 2"), result.stderr


def test_help_is_fast_and_lists_the_groups():
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "xaiexp", "--help"], capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0
    assert "dataset: cifar10, fashion_mnist, folder, mnist, npz, shapes, tfds" in result.stdout
    assert "optimizer: adam, adamw, rmsprop, sgd" in result.stdout
    assert elapsed < 2.0, f"--help took {elapsed:.2f} s"


def test_bad_override_exits_2_with_one_line():
    result = subprocess.run([sys.executable, "-m", "xaiexp", "schedule.init_lrr=3e-4"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("xaiexp: error: schedule.init_lrr: unknown key (did you mean init_lr?); "
                                     "allowed: _target_, init_lr, min_lr, cycle_length, cycle_multiplier")
