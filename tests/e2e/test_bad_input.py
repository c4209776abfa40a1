"""Every kind of bad input, through the real ``xaiexp`` command: exit code 2, one line on stderr
naming the key or file, no traceback, no MLflow run (and no TensorFlow: each answers in < 1 s)."""

import socket
import sqlite3
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.cli import run_cli
from xaiexp.app.cli import compose_config


def closed_port():
    """A local port nobody listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_files(root):
    """The bad dataset files the cases below point at, by name."""
    root.mkdir(parents=True, exist_ok=True)
    x, y = np.zeros((4, 20, 20, 3), np.uint8), np.array([0, 1, 0, 1])
    (root / "text.npz").write_text("not an npz")
    np.savez(root / "no_y.npz", x=x)
    np.savez(root / "short_y.npz", x=x, y=y[:3])
    np.savez(root / "two_classes.npz", x=x, y=y)
    np.savez(root / "tiny_images.npz", x=np.zeros((4, 8, 8, 3)), y=y)
    np.savez(root / "mnist_no_test.npz", x_train=x, y_train=y)
    (root / "not_a_folder").write_text("a file")
    (root / "empty").mkdir(exist_ok=True)
    with tarfile.open(root / "other.tar.gz", "w:gz") as tar:
        tar.add(root / "text.npz", arcname="something-else/data")
    make_bad_values(root, np.random.default_rng(0))
    make_folders(root)
    make_linked_folders(root)
    make_torn_journal(root / "torn.journal")
    make_broken_config_dirs(root)
    make_broken_keras_files(root)
    (root / "text.db").write_text("not a database")
    with sqlite3.connect(root / "other_app.db") as db:  # e.g. an MLflow store given to Optuna
        db.execute("CREATE TABLE runs (run_uuid TEXT)")
    db.close()
    return root


def make_folders(root):
    """Image folders: one of a single class; two classes with masks and decoy masks, one missing."""
    from PIL import Image

    image = Image.fromarray(np.zeros((20, 20, 3), np.uint8))
    for folder, names in (("one_class", ("cat",)), ("pets", ("cat", "dog")), ("pet_masks", ("cat", "dog")),
                          ("pet_decoys", ("cat", "dog"))):
        for name in names:
            (root / folder / name).mkdir(parents=True, exist_ok=True)
            for index in range(4):
                image.save(root / folder / name / f"{index}.png")
    (root / "pet_decoys" / "dog" / "2.png").unlink()
    np.savez(root / "one_class.npz", x=np.zeros((8, 20, 20, 3), np.uint8), y=np.full(8, 3),
             class_names=np.array(["a", "b", "c", "d"]))


def make_linked_folders(root):
    """Image folders whose links make a walk loop: each class links to the data folder (2**40
    paths for os.walk to follow), or to itself (each image read 41 times)."""
    from PIL import Image

    for name, links in (("parent_links", {"a/up": "..", "b/up": ".."}), ("self_link", {"a/again": "."})):
        for label in ("a", "b"):
            (root / name / label).mkdir(parents=True)
            for index in range(3):
                Image.new("RGB", (20, 20), (index * 80, 0, 0)).save(root / name / label / f"{index}.png")
        for link, target in links.items():
            (root / name / link).symlink_to(target)


def make_torn_journal(path):
    """An Optuna journal with a line of garbage between its records (Optuna refuses to replay it)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    optuna.create_study(storage=JournalStorage(JournalFileBackend(str(path))), study_name="s")
    first = path.read_bytes().splitlines(keepends=True)[0]
    with open(path, "ab") as file:
        file.write(b"\x00garbage\n" + first)


def make_broken_config_dirs(root):
    """--config-dir folders with a file Hydra cannot compose."""
    files = {"bad_yaml/model/bad.yaml": "_target_: x\n  width: [\n",
             "not_text/model/latin1.yaml": "width: 1  # caf\xe9\n",
             "self_loop/experiment/loop.yaml": "# @package _global_\ndefaults:\n  - loop\n",
             "two_loop/experiment/a.yaml": "# @package _global_\ndefaults:\n  - /experiment/b\n",
             "two_loop/experiment/b.yaml": "# @package _global_\ndefaults:\n  - /experiment/a\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode("latin-1"))


def make_broken_keras_files(root):
    """.keras files (zip archives) cut short, and with a flipped byte."""
    import zipfile

    with zipfile.ZipFile(root / "whole.keras", "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("config.json", '{"class_name": "Functional", "config": {}}' + " " * 4000)
        archive.writestr("model.weights.h5", bytes(4000))
    whole = (root / "whole.keras").read_bytes()
    (root / "truncated.keras").write_bytes(whole[: len(whole) // 2])
    middle = whole.index(b"Functional")
    (root / "corrupt.keras").write_bytes(whole[:middle] + b"X" + whole[middle + 1:])


def make_bad_values(root, rng):
    """npz files whose shapes are right and whose values are not."""
    x, y = rng.uniform(0, 255, (40, 20, 20, 3)).astype(np.float32), np.arange(40) % 4
    for name, index, value in (("nan", 17, np.nan), ("inf", 18, -np.inf), ("huge", 19, 1e30)):
        bad = x.copy()
        bad[index, 5, 5, 1] = value
        np.savez(root / f"pixel_{name}.npz", x=bad, y=y)
    np.savez(root / "eval_nan.npz", x=x, y=y, x_eval=np.full((4, 20, 20, 3), np.nan, np.float32),
             y_eval=y[:4])
    for name, label in (("label_2_40", 2 ** 40), ("label_1000", 1000)):
        labels = y.copy()
        labels[21] = label
        np.savez(root / f"{name}.npz", x=x, y=labels)
    for count in (1, 2, 5):  # 5: eval gets 1, none left for the test split
        np.savez(root / f"{count}_images.npz", x=x[:count], y=y[:count])


# (id, arguments, what stderr must name). "{data}" is the folder of make_files; "{port}" a closed port.
CASES = [
    # unknown keys, at every level, and keys the schema cannot lose
    ("unknown top", ["epoch=3"], "epoch"),
    ("unknown dataset", ["dataset.n_trian=10"], "dataset.n_trian"),
    ("unknown schedule", ["schedule.init_lrr=3e-4"], "schedule.init_lrr"),
    ("unknown explain", ["explain.sample=3"], "explain.sample"),
    ("unknown tracking", ["tracking.urii=http://localhost:5000"], "tracking.urii"),
    ("unknown model", ["model.widht=2"], "model.widht"),
    ("unknown nested", ["dataset.normalize.meen=[0.5]"], "dataset.normalize.meen"),
    ("added top", ["+newkey=1"], "newkey"),
    ("added nested", ["+model.depth=3"], "model.depth"),
    ("removed key", ["~epochs"], "epochs"),
    # wrong types
    ("str for int", ["epochs=abc"], "epochs"),
    ("float for int", ["epochs=1.5"], "epochs"),
    ("str for float", ["schedule.init_lr=fast"], "schedule.init_lr"),
    ("str for bool", ["tracking.enabled=maybe"], "tracking.enabled"),
    ("list for int", ["batch_size=[32,64]"], "batch_size"),
    ("list for str", ["name=[a,b]"], "name"),
    ("int for list", ["explain.integrating=5"], "explain.integrating"),
    ("str in list", ["explain.integrating=[a,6]"], "explain.integrating"),
    ("unknown precision", ["precision=float16"],
     "precision: Invalid value 'float16', expected one of [float32, mixed_float16, mixed_bfloat16]"),
    ("dict for group", ["dataset.normalize=3"], "dataset.normalize"),
    ("null for required", ["epochs=null"], "epochs"),
    # ranges
    ("epochs 0", ["epochs=0"], "epochs"),
    ("batch_size negative", ["batch_size=-3"], "batch_size"),
    ("log_steps negative", ["log_steps=-1"], "log_steps"),
    ("samples 0", ["explain.samples=0"], "explain.samples"),
    ("trace samples negative", ["traces.saliency.samples=-5"], "traces.saliency.samples: must be >= 1, got -5"),
    ("trace occlusion patch 0", ["traces.saliency.occlusion=[0,4]"], "traces.saliency.occlusion.patch: must be >= 1"),
    ("trace integrating negative", ["traces.saliency.integrating=[-1]"], "traces.saliency.integrating: must be"),
    ("trace method unknown", ["traces.saliency.methods=[lime]"], "traces.saliency.methods: unknown 'lime'"),
    ("smoothing negative", ["explain.smoothing=-1"], "explain.smoothing"),
    ("integrating negative", ["explain.integrating=[-1,6]"], "explain.integrating"),
    ("integrating too long", ["explain.integrating=[1,2,3]"], "explain.integrating"),
    ("split 0", ["dataset.test_split=0"], "dataset.test_split"),
    ("split 1", ["dataset.test_split=1"], "dataset.test_split"),
    ("init_lr 0", ["schedule.init_lr=0"], "schedule.init_lr"),
    ("init_lr negative", ["schedule.init_lr=-1e-3"], "schedule.init_lr"),
    ("init_lr inf", ["schedule.init_lr=inf"], "schedule.init_lr"),
    ("min_lr above init_lr", ["schedule.min_lr=0.01"], "schedule.min_lr"),
    ("cycle_length 0", ["schedule.cycle_length=0"], "schedule.cycle_length"),
    ("cycle_multiplier below 1", ["schedule.cycle_multiplier=0.5"], "schedule.cycle_multiplier"),
    ("dropout 1", ["model=cnn", "model.dropout=1.0"], "model.dropout"),
    ("width 0", ["model.width=0"], "model.width"),
    ("seed negative", ["seed=-1"], "seed"),
    ("epochs huge", ["epochs=99999999999999999999"], "epochs"),
    ("empty name", ["name="], "name"),
    ("std 0", ["dataset.normalize.std=[0]"], "dataset.normalize.std"),
    ("image too small for lenet", ["dataset.image_size=8"], "dataset.image_size"),
    # group options, and values that are not options
    ("dataset option", ["dataset=imagenet"], "dataset=imagenet"),
    ("model option", ["model=lenett"], "model=lenett"),
    ("schedule option", ["schedule=linear"], "schedule=linear"),
    ("explain option", ["explain=gradcam"], "explain=gradcam"),
    ("tracking option", ["tracking=wandb"], "tracking=wandb"),
    ("experiment option", ["experiment=nope"], "experiment=nope"),
    ("hparams_search option", ["hparams_search=grid"], "hparams_search=grid"),
    ("number for group", ["dataset=3"], "dataset"),
    ("null for group", ["model=null"], "model"),
    # enums
    ("optimizer option", ["optimizer=adamx"], "optimizer=adamx"),
    ("model target", ["model._target_=resnet"], "model._target_"),
    ("dataset target", ["dataset._target_=imagenet.load"], "dataset._target_"),
    ("model argument", ["model._target_=xaiexp.architecture.tensorflow.MobileNetV2", "model.width=2"],
     "model.width"),
    ("direction", ["objective.direction=up"], "objective.direction"),
    ("metric without mode", ["objective.metric=accuracy"], "objective.metric"),
    ("metric of train", ["objective.metric=train/accuracy"], "objective.metric"),
    ("shortcut off shapes", ["dataset=mnist", "dataset.shortcut=true"], "dataset.shortcut"),
    ("floor without mode", ["objective.subject_to.metric=accuracy"], "objective.subject_to.metric"),
    ("floor not a number", ["objective.subject_to.at_least=high"], "objective.subject_to.at_least"),
    # override syntax and interpolations
    ("empty value", ["epochs="], "epochs"),
    ("no key", ["=3"], "=3"),
    ("open list", ["epochs=[1,"], "epochs=[1,"),
    ("open quote", ["'epochs=3"], "epochs=3"),
    ("open interpolation", ["epochs=${"], "epochs"),
    ("sweep without -m", ["epochs=3,4"], "epochs"),
    ("missing env var", ["name=${oc.env:XAIEXP_NO_SUCH_VARIABLE}"], "name"),
    ("bad sweep job", ["-m", "epochs=2,0"], "epochs"),
    # dataset files
    ("npz without path", ["dataset=npz"], "dataset.path"),
    ("npz missing", ["dataset=npz", "dataset.path={data}/absent.npz"], "{data}/absent.npz"),
    ("npz not an npz", ["dataset=npz", "dataset.path={data}/text.npz"], "{data}/text.npz"),
    ("npz is a folder", ["dataset=npz", "dataset.path={data}/empty"], "{data}/empty"),
    ("npz without y", ["dataset=npz", "dataset.path={data}/no_y.npz"], "{data}/no_y.npz"),
    ("npz lengths differ", ["dataset=npz", "dataset.path={data}/short_y.npz"], "{data}/short_y.npz"),
    ("npz images too small", ["dataset=npz", "dataset.path={data}/tiny_images.npz"],
     "{data}/tiny_images.npz"),
    ("npz class_names", ["dataset=npz", "dataset.path={data}/two_classes.npz",
                         "dataset.class_names=[a,b,c]"], "dataset.class_names"),
    ("cifar10 text file", ["dataset=cifar10", "dataset.path={data}/text.npz"], "{data}/text.npz"),
    ("cifar10 other archive", ["dataset=cifar10", "dataset.path={data}/other.tar.gz"],
     "{data}/other.tar.gz"),
    ("cifar10 folder", ["dataset=cifar10", "dataset.path={data}/empty"], "{data}/empty"),
    ("mnist without test", ["dataset=mnist", "dataset.path={data}/mnist_no_test.npz"],
     "{data}/mnist_no_test.npz"),
    ("fashion_mnist empty folder", ["dataset=fashion_mnist", "dataset.path={data}/empty"],
     "{data}/empty"),
    ("fashion_mnist file", ["dataset=fashion_mnist", "dataset.path={data}/not_a_folder"],
     "{data}/not_a_folder"),
    ("npz NaN pixel", ["dataset=npz", "dataset.path={data}/pixel_nan.npz"], "pixel_nan.npz: x[17]"),
    ("npz infinite pixel", ["dataset=npz", "dataset.path={data}/pixel_inf.npz"], "pixel_inf.npz: x[18]"),
    ("npz 1e30 pixel", ["dataset=npz", "dataset.path={data}/pixel_huge.npz"], "pixel_huge.npz: x[19]"),
    ("npz NaN eval images", ["dataset=npz", "dataset.path={data}/eval_nan.npz"], "eval_nan.npz: x_eval[0]"),
    ("npz label 2**40", ["dataset=npz", "dataset.path={data}/label_2_40.npz"], "label_2_40.npz: y[21]"),
    ("npz label 1000", ["dataset=npz", "dataset.path={data}/label_1000.npz"], "label_1000.npz: y[21]"),
    ("npz of 1 image", ["dataset=npz", "dataset.path={data}/1_images.npz"], "1_images.npz"),
    ("npz of 2 images", ["dataset=npz", "dataset.path={data}/2_images.npz"], "2_images.npz"),
    ("npz without a test split", ["dataset=npz", "dataset.path={data}/5_images.npz"], "5_images.npz"),
    ("folder of one class", ["dataset=folder", "dataset.path={data}/one_class"],
     "dataset.path: {data}/one_class: 1 class (cat); a classifier needs at least 2"),
    ("npz of one class", ["dataset=npz", "dataset.path={data}/one_class.npz"],
     "dataset.path: {data}/one_class.npz: y has 1 class (d); a classifier needs at least 2"),
    ("eval_masks without eval_path", ["dataset=folder", "dataset.path={data}/pets",
                                      "dataset.masks={data}/pet_masks", "dataset.eval_masks={data}/pet_masks"],
     "dataset.eval_masks: {data}/pet_masks: eval_masks is given without eval_path"),
    ("decoy mask missing", ["dataset=folder", "dataset.path={data}/pets", "dataset.decoy_masks={data}/pet_decoys"],
     "{data}/pets/dog/2.png: no decoy mask {data}/pet_decoys/dog/2.<"),
    ("frozen random backbone", ["model=mobilenet_v2", "model.weights=null"],
     "model.freeze_backbone: true with model.weights=null freezes a random backbone"),
    ("folder links to its parent", ["dataset=folder", "dataset.path={data}/parent_links"],
     "dataset.path: {data}/parent_links/a/up: a link to {data}/parent_links, a folder that holds it"),
    ("folder links to itself", ["dataset=folder", "dataset.path={data}/self_link"],
     "dataset.path: {data}/self_link/a/again: a link to {data}/self_link/a, a folder that holds it"),
    ("n_eval 1", ["dataset.n_eval=1"], "dataset.n_eval"),
    ("shapes beyond memory", ["dataset.n_train=2147483647"], "dataset.n_train"),
    ("class_names count", ["dataset.class_names=[a,b]"], "dataset.class_names"),
    ("class_names twice", ["dataset.class_names=[a,a,b,c,d]"], "dataset.class_names"),
    ("normalize channels", ["dataset=mnist", "dataset.normalize.mean=[0.1,0.2,0.3]"],
     "dataset.normalize.mean"),
    # tracking
    ("server unreachable", ["tracking.uri=http://127.0.0.1:{port}"], "tracking.uri"),
    ("scheme missing", ["tracking.uri=localhost:5000"], "tracking.uri"),
    ("sqlite under a file", ["tracking.uri=sqlite:///{data}/not_a_folder/mlflow.db"], "tracking.uri"),
    ("file store refused", ["tracking.uri=file://{data}/mlruns"], "tracking.uri"),
    ("open IPv6 bracket", ["tracking.uri='http://[::1'"], "tracking.uri"),
    ("sqlite at a text file", ["tracking.uri=sqlite:///{data}/text.db"], "{data}/text.db"),
    ("experiment name too long", ["name=" + "n" * 3000], "name"),
    ("tracking.experiment too long", ["tracking.experiment=" + "e" * 501], "tracking.experiment"),
    ("cycle_multiplier huge", ["schedule.cycle_multiplier=1e308"], "schedule.cycle_multiplier"),
    ("output folder unwritable", ["hydra.run.dir=/proc/xaiexp-runs"], "hydra.run.dir"),
    ("optuna journal at a text file", ["-m", "hparams_search=optuna", "hydra.sweeper.storage={data}/text.db"],
     "hydra.sweeper.storage: {data}/text.db is not an Optuna journal file"),
    ("optuna sqlite at a text file", ["-m", "hparams_search=optuna",
                                      "hydra.sweeper.storage=sqlite:///{data}/text.db"],
     "hydra.sweeper.storage: {data}/text.db is not a SQLite database"),
    ("optuna sqlite of another app", ["-m", "hparams_search=optuna",
                                      "hydra.sweeper.storage=sqlite:///{data}/other_app.db"],
     "hydra.sweeper.storage: {data}/other_app.db is a SQLite database but not Optuna's (it holds runs)"),
    ("optuna sqlite with a query string", ["-m", "hparams_search=optuna",
                                            'hydra.sweeper.storage="sqlite:///{data}/other_app.db?timeout=30"'],
     "hydra.sweeper.storage: {data}/other_app.db is a SQLite database but not Optuna's (it holds runs)"),
    ("optuna sqlite as a file: URI", ["-m", "hparams_search=optuna",
                                      'hydra.sweeper.storage="sqlite:///file:{data}/other_app.db?mode=ro&uri=true"'],
     "hydra.sweeper.storage: {data}/other_app.db is a SQLite database but not Optuna's (it holds runs)"),
    ("optuna storage is a folder", ["-m", "hparams_search=optuna", "hydra.sweeper.storage={data}/empty"],
     "hydra.sweeper.storage: {data}/empty is a folder; expected an Optuna journal file"),
    ("optuna sqlite is a folder", ["-m", "hparams_search=optuna", "hydra.sweeper.storage=sqlite:///{data}/empty"],
     "hydra.sweeper.storage: {data}/empty is a folder; expected a SQLite database file"),
    ("optuna journal with garbage after a record", ["-m", "hparams_search=optuna",
                                                    "hydra.sweeper.storage={data}/torn.journal"],
     "hydra.sweeper.storage: {data}/torn.journal is not an Optuna journal file (line 2 is no journal record)"),
    ("optuna journal in /proc", ["-m", "hparams_search=optuna", "hydra.sweeper.storage=/proc/version"],
     "hydra.sweeper.storage: the folder of /proc/version cannot be written"),
    ("optuna storage of no database", ["-m", "hparams_search=optuna", "hydra.sweeper.storage=file:///{data}/x"],
     "hydra.sweeper.storage: unknown database 'file' in file:///{data}/x"),
    ("config file of bad YAML", ["--config-dir", "{data}/bad_yaml", "model=bad"],
     "{data}/bad_yaml/model/bad.yaml, line 2, column 8: not valid YAML: mapping values are not allowed here"),
    ("config file not UTF-8", ["--config-dir", "{data}/not_text", "model=latin1"],
     "{data}/not_text/model/latin1.yaml: not UTF-8 text"),
    ("config including itself", ["--config-dir", "{data}/self_loop", "+experiment=loop"],
     "{data}/self_loop/experiment/loop.yaml: its defaults list includes itself (experiment/loop -> experiment/loop)"),
    ("configs including each other", ["--config-dir", "{data}/two_loop", "+experiment=a"],
     "{data}/two_loop/experiment/b.yaml: its defaults list includes itself "
     "(experiment/b -> experiment/a -> experiment/b)"),
    ("saved model truncated", ["model=saved", "model.path={data}/truncated.keras"],
     "model.path: {data}/truncated.keras is truncated or corrupt: a .keras file is a zip archive"),
    ("saved model corrupt", ["model=saved", "model.path={data}/corrupt.keras"],
     "model.path: {data}/corrupt.keras is corrupt: config.json in its zip archive fails its checksum"),
    ("sweep folder under a file", ["-m", "hydra.sweep.dir={data}/not_a_folder/sweep", "epochs=1,2"],
     "hydra.sweep.dir"),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_files(tmp_path_factory.mktemp("bad_data"))


@pytest.fixture(scope="module")
def port():
    return closed_port()


def no_runs(home):
    """The MLflow store under ``home`` is absent, or holds no run."""
    store = Path(home, "outputs", "mlflow.db")
    if not store.exists():
        return True
    with sqlite3.connect(store) as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master where type='table'")}
        return "runs" not in tables or db.execute("select count(*) from runs").fetchone()[0] == 0


@pytest.mark.parametrize("args, named", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_naming_it(args, named, home, data, port):
    fill = lambda text: text.replace("{data}", str(data)).replace("{port}", str(port))  # noqa: E731
    start = time.perf_counter()
    result = run_cli(*map(fill, args), timeout=60, env={"MLFLOW_ALLOW_FILE_STORE": "false"})
    elapsed = time.perf_counter() - start
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("xaiexp: error: "), result.stderr[-2000:]
    assert fill(named) in lines[0]
    assert "Traceback" not in result.stderr
    assert no_runs(home)
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_the_cases_are_distinct_and_many():
    assert len(CASES) >= 30
    assert len({tuple(case[1]) for case in CASES}) == len(CASES)


def test_debug_is_a_key():
    assert compose_config(["debug=true"]).debug is True
    assert compose_config([]).debug is False


def test_an_optuna_storage_url_with_a_query_string_cannot_reach_the_mlflow_store(home):
    """``?timeout=30`` is no part of the file name: the relative URL names the project's MLflow
    store, which is refused before Optuna writes its tables into it."""
    from xaiexp.tracking.store import TrackingTarget

    TrackingTarget.embedded(home).ensure_store()
    store = home / "outputs" / "mlflow.db"
    with sqlite3.connect(store) as db:
        before = sorted(db.execute("select name from sqlite_master where type='table'"))
    db.close()
    result = run_cli("-m", "hparams_search=optuna", 'hydra.sweeper.storage="sqlite:///outputs/mlflow.db?timeout=30"',
                     timeout=60)
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"xaiexp: error: hydra.sweeper.storage: {store} is a SQLite database but not "
                           f"Optuna's (it holds "), line
    with sqlite3.connect(store) as db:
        assert sorted(db.execute("select name from sqlite_master where type='table'")) == before
    db.close()
