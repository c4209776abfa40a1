"""Fuzz: a run's logged config, tampered at random, read back as ``explain`` and ``resume`` read it
(``xaiexp.app.config.stored.read_stored``). Random ``_target_``s drawn from the callables of installed
packages, at any depth, random interpolations and resolvers, keys no xaiexp version knows: the
config comes back holding only allowed targets and no interpolation, or one ConfigError line
names the key. An audit hook (PEP 578) watches every call: nothing is imported, executed,
spawned, written or removed, and only the sources of allowed targets are read."""

import ast
import importlib.util
import os
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from xaiexp.app.cli import compose_config, config_dir
from xaiexp.app.config.stored import read_stored, targets, trusted_targets
from xaiexp.util.errors import ConfigError

SECRET = "fuzz-secret-7f3a"  # in the environment: no config may ever hold it
STDLIB = ("builtins", "os", "shutil", "subprocess", "posix", "importlib", "pickle", "sys", "io")
WALKED = ("mlflow", "numpy", "keras", "hydra", "omegaconf", "yaml")  # read as source, not imported
FILES_PER_PACKAGE = 40
ATTACKS = ["mlflow.utils.process._exec_cmd", "builtins.open", "shutil.copyfile", "os.system",
           "subprocess.run", "builtins.eval", "builtins.exec", "importlib.import_module",
           "hydra.utils.get_method", "pickle.loads", "os.environ.get", "fuzz_planted.run",
           "xaiexp.app.cli.main", "xaiexp", "", ".", "a..b", "keras.optimizers.Adam.__init__"]
RESOLVERS = ["${oc.env:FUZZ_SECRET}", "${oc.env:FUZZ_SECRET,x}", "${oc.decode:'${oc.env:HOME}'}",
             "${xaiexp_root:}", "${seed}", "a${name}b", "\\${oc.env:FUZZ_SECRET}", "${oc.create:{a: 1}}",
             "${hydra:runtime.cwd}", "${oc.select:epochs}", "${now:%Y}", "${oc.dict.keys:dataset}",
             "${...}", "${", "$${oc.env:FUZZ_SECRET}"]
FORBIDDEN = ("import", "exec", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
             "os.fork", "os.kill", "os.remove", "os.unlink", "os.rename", "os.rmdir", "os.mkdir",
             "os.truncate", "os.chmod", "os.chown", "os.putenv", "os.unsetenv", "shutil.", "socket.",
             "urllib.", "http.", "ctypes.", "pickle.", "marshal.", "cpython.run_", "sqlite3.",
             "tempfile.", "webbrowser.")


def _defined_names(path, module):
    """The module-level functions and classes of a source file, read with ast."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return []
    return [f"{module}.{node.name}" for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def _package_callables(package):
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(root.rglob("*.py"))
    names = []
    for path in files[::max(1, len(files) // FILES_PER_PACKAGE)]:
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names += _defined_names(path, module)
    return names


def callables_pool():
    """Dotted names of callables of real packages: the stdlib's from the live modules, the
    others' from their source (importing keras would start TensorFlow)."""
    pool = [f"{name}.{attribute}" for name in STDLIB
            for attribute in dir(sys.modules.get(name) or __import__(name))
            if callable(getattr(sys.modules[name], attribute, None))]
    for package in WALKED:
        pool += _package_callables(package)
    return sorted(set(pool + ATTACKS))


POOL = callables_pool()


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """``fuzz_planted``, importable, writes a marker file when imported."""
    folder = tmp_path_factory.mktemp("planted")
    marker = folder / "imported"
    (folder / "fuzz_planted.py").write_text(f"open({str(marker)!r}, 'w').close()\nrun = print\n")
    sys.path.append(str(folder))
    yield marker
    sys.path.remove(str(folder))


@pytest.fixture(scope="module")
def stored(planted):
    """A real run's logged config (the default experiment's, resolved) and the targets a
    command composing the default config trusts."""
    command = compose_config([])
    logged = OmegaConf.to_container(command, resolve=True, enum_to_str=True)
    trusted = trusted_targets(command, [config_dir()])
    read_stored(logged, "warm", "resume", {}, trusted)  # imports what validation itself needs
    roots = {Path(importlib.util.find_spec(t.split(".")[0]).origin).parent
             for t in trusted if importlib.util.find_spec(t.split(".")[0])}
    return logged, trusted, roots


class Audit:
    """Audit events (PEP 578) while ``recording``; a hook cannot be removed, so one for all."""
    events = []
    recording = False

    @classmethod
    def hook(cls, event, args):
        if cls.recording:
            cls.events.append((event, args))


sys.addaudithook(Audit.hook)


def paths_of(node, prefix=""):
    """Every dotted path of a dict node and the nodes under it (dicts only)."""
    yield prefix, node
    for key, value in node.items():
        if isinstance(value, dict):
            yield from paths_of(value, f"{prefix}.{key}" if prefix else str(key))


odd_targets = st.one_of(st.sampled_from(POOL), st.sampled_from(ATTACKS), st.text(max_size=10),
                        st.integers(), st.just(None), st.just(["os.system"]), st.just({"a": "os.system"}))


@st.composite
def tampered(draw, logged, trusted):
    config = yaml.safe_load(yaml.safe_dump(logged))  # a fresh copy, as YAML holds it
    for _ in range(draw(st.integers(1, 3))):
        nodes = list(paths_of(config))
        _, node = draw(st.sampled_from(nodes))
        kind = draw(st.integers(0, 5))
        target = draw(st.one_of(odd_targets, st.sampled_from(sorted(trusted))))
        if kind == 0:  # a group's or any node's target replaced
            node["_target_"] = target
        elif kind == 1:  # a nested node Hydra would instantiate first
            node[draw(st.sampled_from(list(node) or ["x"]))] = {"_target_": target, "file": "/tmp/x"}
        elif kind == 2:  # a positional-argument list holding one
            node["_args_"] = [{"_target_": target}, draw(st.sampled_from(RESOLVERS))]
        elif kind == 3 and node:  # a value made an interpolation
            node[draw(st.sampled_from(list(node)))] = draw(st.sampled_from(RESOLVERS))
        elif kind == 4:  # a key from another version
            node[draw(st.text(min_size=1, max_size=8))] = draw(st.integers() | st.text(max_size=5))
        else:  # a list of targets where a value was
            node[draw(st.sampled_from(list(node) or ["y"]))] = [{"_target_": target}]
    return config


def _allowed(event, args, roots):
    if event == "open":
        path, mode = str(args[0]), str(args[1])
        return not set(mode) & set("wax+") and any(path.startswith(str(root)) for root in roots)
    if event == "compile":  # ast.parse of an allowed target's source
        return any(str(args[1]).startswith(str(root)) for root in roots)
    return not event.startswith(FORBIDDEN)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_a_tampered_logged_config_is_refused_or_holds_only_allowed_targets(stored, planted, monkeypatch,
                                                                         data):
    logged, trusted, roots = stored
    monkeypatch.setenv("FUZZ_SECRET", SECRET)
    config = data.draw(tampered(logged, trusted))
    modules = set(sys.modules)
    Audit.events, Audit.recording = [], True
    try:
        result = read_stored(config, "fuzzrun", "resume", {}, trusted)
    except ConfigError as error:
        result, message = None, str(error)
    finally:
        Audit.recording = False
    assert set(sys.modules) == modules, sorted(set(sys.modules) - modules)
    assert not planted.exists()
    assert [e for e, a in Audit.events if not _allowed(e, a, roots)] == []
    if result is None:
        assert "\n" not in message and ": " in message and SECRET not in message
        return
    assert all(isinstance(t, str) and t in trusted for _, t in targets(result))
    text = yaml.safe_dump(OmegaConf.to_container(result, enum_to_str=True))
    assert "${" not in text and SECRET not in text


def test_the_pool_holds_real_callables_of_every_package():
    tops = {name.split(".")[0] for name in POOL}
    assert set(STDLIB) | set(WALKED) <= tops and len(POOL) > 1000
    assert "fuzz_planted" not in sys.modules and os.environ.get("FUZZ_SECRET") is None
