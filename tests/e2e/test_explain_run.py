"""``xaiexp explain explain_run=<prefix>`` composes from the run it explains: a user's model on a
folder of photos, explained from another working directory with other masks, logged under that
run's model and dataset names; ``explain.split=eval`` labelled eval everywhere."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from PIL import Image

from tests.support.user_model import MODULE

pytestmark = pytest.mark.slow

EXPLAIN = ["explain.samples=2", "explain.methods=[vanilla,integrated]", "explain.integrating=[4]",
           "explain.metrics=[relevance_mass,pointing_game]"]


def write_folder(root, count=60, size=32):
    """``photos/<class>/<n>.png`` of the embedded shapes (as a user's photos) with their object
    masks in ``masks/``, and the same masks inverted (the background) in ``background/``."""
    from xaiexp.dataset.data import shapes

    images, _ = shapes.load_data(n_train=count, n_eval=1, image_size=size)
    names = {label: name for name, label in images.label_mapping.items()}
    for i, (x, y, mask) in enumerate(zip(images.data["x"], images.data["y"], images.data["mask"])):
        inside = mask[..., 0].astype(np.uint8) * 255
        for folder, picture in (("photos", x), ("masks", inside), ("background", 255 - inside)):
            path = root / folder / names[int(y)]
            path.mkdir(parents=True, exist_ok=True)
            Image.fromarray(picture).save(path / f"{i}.png")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run of the user's model (conf/model/tiny.yaml -> mymodels.tiny) on a folder, trained
    in the user's project folder with relative paths; its store, its id and the environment."""
    project = tmp_path_factory.mktemp("project")
    (project / "mymodels.py").write_text(MODULE)
    (project / "conf" / "model").mkdir(parents=True)
    (project / "conf" / "model" / "tiny.yaml").write_text("_target_: mymodels.tiny\nfilters: 4\n")
    write_folder(project)
    env = {**os.environ, "XAIEXP_HOME": str(project / "home"), "KERAS_HOME": str(project / "keras")}
    result = xaiexp(project, env, "--config-dir", "conf", "model=tiny", "dataset=folder",
                    "dataset.path=photos", "dataset.masks=masks", "dataset.image_size=32",
                    "dataset.eval_split=0.4", "epochs=1", "batch_size=16", *EXPLAIN)
    assert result.returncode == 0, result.stderr[-3000:]
    client = mlflow.MlflowClient(f"sqlite:///{project}/home/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    (run,) = client.search_runs([experiment.experiment_id])
    return {"project": project, "env": env, "client": client, "run": run}


def xaiexp(cwd, env, *args):
    return subprocess.run([sys.executable, "-m", "xaiexp", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def explanation(trained):
    client, source = trained["client"], trained["run"]
    runs = client.search_runs([source.info.experiment_id], order_by=["attributes.start_time DESC"])
    return runs[0]


def test_a_folder_run_is_explained_from_another_folder_with_other_masks(trained, tmp_path):
    client, source = trained["client"], trained["run"]
    config = Path(client.download_artifacts(source.info.run_id, "config.yaml", str(tmp_path)))
    logged = yaml.safe_load(config.read_text())
    project = trained["project"]
    assert (logged["dataset"]["path"], logged["dataset"]["masks"]) == (str(project / "photos"),
                                                                       str(project / "masks"))
    elsewhere = tmp_path / "elsewhere"  # no mymodels.py, no photos: the run's paths are absolute
    elsewhere.mkdir()
    shutil.copytree(project / "background", elsewhere / "background")
    prefix = source.info.run_id[:8]
    result = xaiexp(elsewhere, trained["env"], "explain", f"explain_run={prefix}",
                    "dataset.masks=background")
    assert result.returncode == 0, result.stderr[-3000:]
    explained = explanation(trained)
    assert explained.data.tags["xaiexp.source_run_id"] == source.info.run_id
    params = explained.data.params
    assert (params["model"], params["dataset"]) == ("tiny", "folder")
    assert params["dataset.path"] == str(project / "photos")
    assert params["dataset.masks"] == str(elsewhere / "background")
    assert params["explain_run"] == prefix
    # the same probes and maps, scored against the complement of their masks
    for method in ("saliency", "integrated_saliency"):
        key = f"test/xai/{method}/relevance_mass"
        assert explained.data.metrics[key] == pytest.approx(1 - source.data.metrics[key], abs=1e-5)
    assert explained.data.metrics["test/accuracy"] == source.data.metrics["test/accuracy"]


def test_an_override_is_checked_against_the_runs_config(trained, tmp_path):
    result = xaiexp(tmp_path, trained["env"], "explain", "explain_run=last", "dataset.n_train=5")
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]  # a folder's keys, not the default shapes'
    assert line.startswith("xaiexp: error: dataset.n_train: unknown key") and " path, " in line
    result = xaiexp(tmp_path, trained["env"], "explain", "explain_run=last", "dataset=shapes")
    assert result.returncode == 2
    assert "dataset: with explain_run, set keys of the run's config" in result.stderr


def test_the_eval_split_is_explained_and_labelled_as_eval(trained, tmp_path):
    source = trained["run"]
    result = xaiexp(trained["project"], trained["env"], "explain", "explain_run=last",
                    "explain.split=eval")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "xaiexp-Eval: step: 0; epoch: 0;" in result.stdout and "xaiexp-Test" not in result.stdout
    assert "  integrated  " in result.stdout  # the closing metric table
    explained = explanation(trained)
    xai = sorted(key for key in explained.data.metrics if "/xai/" in key)
    assert xai and all(key.startswith("eval/xai/") for key in xai)
    figures = [a.path for a in trained["client"].list_artifacts(explained.info.run_id, "saliency")]
    assert "saliency/eval_epoch_000.png" in figures
    # one epoch trained: the logged model is the last eval epoch's, so its numbers come back
    for key in xai:
        assert explained.data.metrics[key] == pytest.approx(source.data.metrics[key], abs=1e-5), key
