"""Built-in components declare their schemas beside their code and are found, not listed: a new
dataset or model is one module in its package plus its YAML (README "Development")."""

import contextlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

import xaiexp.architecture.tensorflow as models
import xaiexp.dataset.data as datasets
from tests.support.added_modules import added_modules
from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, config_dir, error_line
from xaiexp.app.config.components import HOMES, defaults_nodes, group_schemas

DATASET_MODULE = '''
from dataclasses import dataclass

import numpy as np

from xaiexp.dataset.data.summary import Summary
from xaiexp.dataset.keys import DatasetKeys
from xaiexp.dataset.numpy_dataset import NumpyDataset
from xaiexp.util.bounds import bounded


@dataclass
class StripesConfig(DatasetKeys):
    _target_: str = "xaiexp.dataset.data.stripes.load_data"
    size: int = bounded(24, minimum=1)


SCHEMAS = (StripesConfig,)


def load_data(size=StripesConfig.size):
    x = np.zeros((40, size, size, 3), np.uint8)
    y = np.arange(40) % 2
    x[y == 1, :, ::2] = 255
    mapping = {"plain": 0, "striped": 1}
    return NumpyDataset({"x": x[:32], "y": y[:32]}, mapping), NumpyDataset({"x": x[32:], "y": y[32:]}, mapping)


def inspect(size=StripesConfig.size, **_):
    return Summary(("plain", "striped"), (size, size, 3), rows=(32, 8))
'''

MODEL_MODULE = '''
from dataclasses import dataclass

from xaiexp.architecture.keys import ModelKeys
from xaiexp.util.bounds import bounded


@dataclass
class TinyConfig(ModelKeys):
    _target_: str = "xaiexp.architecture.tensorflow.Tiny"
    units: int = bounded(8, minimum=1)


SCHEMAS = (TinyConfig,)


def Tiny(input_shape, classes, units=TinyConfig.units):
    import keras

    return keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten(),
                             keras.layers.Dense(units, activation="relu"),
                             keras.layers.Dense(classes, activation="softmax")])
'''


def _shipped_targets(group):
    """The ``_target_`` of every option of ``conf/<group>/`` (a ``@package _global_`` option
    holds it under its group's key)."""
    targets = set()
    for path in Path(config_dir(), group).glob("*.yaml"):
        node = yaml.safe_load(path.read_text())
        targets.add(node.get(group, node)["_target_"])
    return targets


@pytest.mark.parametrize("group", sorted(HOMES))
def test_every_shipped_option_is_a_discovered_component_and_back(group):
    assert _shipped_targets(group) == set(group_schemas()[group])


@pytest.mark.parametrize("group", sorted(HOMES))
def test_a_shipped_option_starts_from_its_schemas_defaults_and_restates_none(group):
    """An option's YAML takes its keys and defaults from its schema's node (so every key users set
    exists after composition: Hydra refuses an override of a key the config lacks) and holds only
    what differs, so a default has one home. ``_target_`` stays: it names what the option builds."""
    for path in Path(config_dir(), group).glob("*.yaml"):
        node = OmegaConf.to_container(OmegaConf.load(path))  # "???" and "${seed}" as written
        package = group if group in node else "_here_"  # a @package _global_ option's own node
        option = node.get(group, node)
        schema = group_schemas()[group][option["_target_"]]
        assert f"/{schema.__name__}@{package}" in node["defaults"], path.name
        defaults = defaults_nodes()[schema.__name__]
        restated = [key for key, value in option.items()
                    if key not in ("_target_", "defaults") and defaults.get(key, object()) == value]
        assert restated == [], path.name


@pytest.fixture
def new_components(tmp_path, monkeypatch):
    """A dataset module ``stripes`` and a model module ``tiny``, added to their packages (a
    folder of their own on each package's path), with their YAMLs in a config dir."""
    conf = tmp_path / "conf"
    for group, name, option in (("dataset", "stripes", "defaults: [/StripesConfig@_here_, _self_]\n"
                                                       "_target_: xaiexp.dataset.data.stripes.load_data\n"),
                                ("model", "tiny", "defaults: [/TinyConfig@_here_, _self_]\n"
                                                  "_target_: xaiexp.architecture.tensorflow.Tiny\n")):
        (conf / group).mkdir(parents=True)
        (conf / group / f"{name}.yaml").write_text(option)
    with contextlib.ExitStack() as stack:
        for package, name, source in ((datasets, "stripes", DATASET_MODULE), (models, "tiny", MODEL_MODULE)):
            stack.enter_context(added_modules(package, tmp_path / package.__name__, monkeypatch))(name, source)
        group_schemas.cache_clear()
        yield conf
    group_schemas.cache_clear()


def test_a_new_dataset_module_and_model_module_are_discovered(new_components, home):
    assert group_schemas()["dataset"]["xaiexp.dataset.data.stripes.load_data"].__name__ == "StripesConfig"
    assert group_schemas()["model"]["xaiexp.architecture.tensorflow.Tiny"].__name__ == "TinyConfig"
    assert models.Tiny.__module__ == "xaiexp.architecture.tensorflow.tiny"  # the package's name for it
    cfg = compose_config(["dataset=stripes", "model=tiny", "tracking=none", "dataset.size=20",
                          "model.units=4"], config_dirs=[new_components])
    assert (cfg.dataset.size, cfg.model.units) == (20, 4)
    for override, message in (("dataset.size=0", "dataset.size: must be >= 1, got 0"),
                              ("model.units=0", "model.units: must be >= 1, got 0"),
                              ("+model.unit=4", "model.unit: unknown key (did you mean units?)")):
        with pytest.raises(COMPOSITION_ERRORS) as error:  # checked by the schema its module declares
            compose_config(["dataset=stripes", "model=tiny", "tracking=none", override],
                           config_dirs=[new_components])
        assert message in error_line(error.value)


def test_the_components_are_read_without_tensorflow():
    code = textwrap.dedent("""
        import sys
        from xaiexp.app.config.components import group_schemas
        import xaiexp.architecture.tensorflow as models
        found = sum(len(schemas) for schemas in group_schemas().values())
        print(found, callable(models.LeNet), hasattr(models, "Lenet"),
              "tensorflow" in sys.modules, "keras" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    count, *rest = result.stdout.split()
    assert int(count) >= 16 and rest == ["True", "False", "False", "False"], result.stderr
