"""``_target_`` nodes: found and checked from source, without importing (so without TensorFlow)."""

import importlib
import inspect
import subprocess
import sys
import textwrap
from dataclasses import fields

import pytest
from hydra.utils import get_object

from xaiexp.app.cli import config_dir
from xaiexp.app.config.components import target_schemas
from xaiexp.app.config.schema import RUNNER_ARGUMENTS
from xaiexp.app.config.targets import TargetNotFound, signature
from xaiexp.architecture.keys import ModelKeys
from xaiexp.dataset.keys import DatasetKeys

TARGET_SCHEMAS = target_schemas()


def test_a_users_module_is_read_not_imported(tmp_path, monkeypatch):
    (tmp_path / "mymodels.py").write_text(textwrap.dedent("""
        raise RuntimeError("imported!")
        def build(input_shape, classes, depth=2, *, width=8, **extra): ...
        class Net:
            def __init__(self, input_shape, classes, dropout=0.1): ...
        from json import dumps as serialize
    """))
    monkeypatch.syspath_prepend(tmp_path)
    found = signature("mymodels.build")
    assert (found.names, found.required, found.open) == (
        ("input_shape", "classes", "depth", "width"), ("input_shape", "classes"), True)
    assert signature("mymodels.Net").names == ("input_shape", "classes", "dropout")
    assert "sort_keys" in signature("mymodels.serialize").names  # followed to json.dumps
    assert "mymodels" not in sys.modules


@pytest.mark.parametrize("target, message", [
    ("nomodule.build", "no module named 'nomodule'"),
    ("xaiexp.architecture.tensorflow.Lenet", "xaiexp.architecture.tensorflow has no 'Lenet'"),
    ("keras.optimizers.Adamm", "keras.optimizers has no 'Adamm'"),
    ("build", "expected a dotted path"),
])
def test_a_missing_target_is_named(target, message):
    with pytest.raises(TargetNotFound, match=message.replace("(", r"\(")):
        signature(target)


def test_finding_keras_targets_does_not_start_tensorflow():
    code = ("import sys; from xaiexp.app.config.targets import signature\n"
            "print(signature('keras.optimizers.SGD').accepts('momentum'),"
            " signature('keras.applications.MobileNetV2').accepts('alpha'),"
            " 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["True", "True", "False", "False"], result.stderr


def _live(target):
    """The same facts from the imported object: the independent reference."""
    parameters = inspect.signature(get_object(target)).parameters.values()
    keyword = [p for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return (tuple(p.name for p in keyword), tuple(p.name for p in keyword if p.default is p.empty),
            any(p.kind is p.VAR_KEYWORD for p in parameters))


CONFIG_TARGETS = sorted({*TARGET_SCHEMAS, "keras.optimizers.Adam", "keras.optimizers.SGD",
                         "keras.optimizers.AdamW", "keras.optimizers.RMSprop"})


@pytest.mark.parametrize("target", CONFIG_TARGETS)
def test_source_signatures_match_the_imported_objects(target):
    if target.endswith("tfds.load_data"):
        pytest.importorskip("tensorflow_datasets")
    found = signature(target)
    importlib.invalidate_caches()
    assert (found.names, found.required, found.open) == _live(target)


@pytest.mark.parametrize("target", sorted(TARGET_SCHEMAS))
def test_every_schema_key_is_an_argument_of_its_target(target):
    """A built-in's schema (what validation checks) and its function cannot drift apart."""
    schema = TARGET_SCHEMAS[target]
    params = signature(target)
    own = next((keys.OWN for keys in (DatasetKeys, ModelKeys) if issubclass(schema, keys)), ())
    keys = [f.name for f in fields(schema) if f.name != "_target_" and f.name not in own]
    assert [key for key in keys if not params.accepts(key)] == []
    group = ("dataset" if issubclass(schema, DatasetKeys) else "schedule" if "schedule" in target
             else "model")
    assert [r for r in params.required if r not in keys and r not in RUNNER_ARGUMENTS[group]] == []


def test_every_shipped_option_names_a_built_in_target():
    import yaml
    from pathlib import Path

    targets = []
    for path in Path(config_dir()).glob("*/*.yaml"):
        node = yaml.safe_load(path.read_text()) or {}
        node = node.get(path.parent.name, node) if "_target_" not in node else node
        if isinstance(node, dict) and "_target_" in node:
            targets.append(node["_target_"])
    assert {t for t in targets if t.startswith("xaiexp.")} <= set(TARGET_SCHEMAS)
    assert len(targets) >= 17
