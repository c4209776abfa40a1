"""The package's import graph, read from the source with ``ast``: imports point down only, no
module imports itself back through others, and a home for shared code holds only shared code.

Every ``import`` counts, a function's as much as a module's: an import deferred into a function
(to keep ``--help`` fast, say) still ties the two modules together when that function runs.
"""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "xaiexp"

# The floors of the house, lowest first. A module imports from its own floor or a lower one.
FLOORS = (
    ("xaiexp", "xaiexp.util"),  # the package facade (lazy attributes only) and shared helpers
    ("xaiexp.backend",),  # tensors, devices, precision, distribution
    ("xaiexp.op", "xaiexp.schedule", "xaiexp.architecture", "xaiexp.dataset", "xaiexp.checkpoint"),
    ("xaiexp.xai", "xaiexp.pipeline", "xaiexp.network", "xaiexp.system"),
    ("xaiexp.trace",),  # hooks into training: the saliency trace runs xai
    ("xaiexp.estimator",),  # the training loop and its traces; it knows no MLflow
    ("xaiexp.tracking",),  # MLflow, and the report and ui commands
    # Hydra and Optuna: config checking, then sweeps (sweepers and launchers start jobs through
    # Hydra, never by importing a task), the tasks a job runs (a trial reports to its study), the
    # command line
    ("xaiexp.app.config",),
    ("xaiexp.app.sweep",),
    ("xaiexp.app.tasks",),
    ("xaiexp.app",),
    ("xaiexp.__main__",),
)

# Homes of what several packages share: a module here that only one package uses moves into it.
SHARED_HOMES = ("xaiexp", "xaiexp.util")

# Modules that stay where they are although only one package imports them, and why.
ONE_USER_EXCEPTIONS = {
    "xaiexp.estimator": "FastEstimator's public path (fastestimator.estimator, xe.Estimator)",
    # the metrics' computations, which users call themselves (examples/explanation_quality.py);
    # xai/metrics/declared/ holds only the declarations that discovery reads
    "xaiexp.xai.metrics.road": "ROAD, a public function beside the other metrics' computations",
    "xaiexp.xai.metrics.ssim": "SSIM, a public function beside the other metrics' computations",
}


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name; a package by its own name (its __init__)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = _modules()
PACKAGES = {name for name in MODULES if MODULES[name].name == "__init__.py"}


def _target(name: str) -> str | None:
    """The package's module that ``import name`` loads: ``name`` itself, or for an attribute
    (``from xaiexp.util import to_list``) the module that holds it."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    origin = node.module or ""
    if node.level:  # relative: counted from the module's package
        package = module if module in PACKAGES else module.rpartition(".")[0]
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        origin = f"{base}.{origin}" if origin else base
    return {f"{origin}.{alias.name}" for alias in node.names}


def _loaded(module: str, name: str) -> list[str]:
    """The modules ``import name`` in ``module`` runs: the one named and the packages above it
    (``__init__`` files) that ``module``'s own import has not run already."""
    target = _target(name)
    loaded = []
    while target and not (module + ".").startswith(target + "."):
        loaded.append(target)
        target = target.rpartition(".")[0]
    return loaded


def _edges() -> dict[str, dict[str, int]]:
    """``{importer: {imported module: line}}``, for the package's own modules."""
    edges = defaultdict(dict)
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _imported(module, node):
                    for target in _loaded(module, name):
                        edges[module].setdefault(target, node.lineno)
    return edges


EDGES = _edges()


def _where(module: str, target: str) -> str:
    return f"{MODULES[module].relative_to(PACKAGE.parent)}:{EDGES[module][target]} imports {target}"


def _floor(module: str) -> int:
    for level, units in enumerate(FLOORS):
        if any(module == unit or (unit != "xaiexp" and module.startswith(unit + ".")) for unit in units):
            return level
    raise AssertionError(f"{module} stands on no floor: add its package to FLOORS")


def _cycles() -> list[list[str]]:
    """The import graph's strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in EDGES.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while not component or component[-1] != module:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for module in MODULES:
        if module not in index:
            visit(module)
    return found


def _sole_user_package(module: str) -> str | None:
    """The one package beside ``module`` (or, for a shared helper, the one top-level package)
    holding every module that imports it; None when several places, or none, import it."""
    users = {importer for importer, targets in EDGES.items() if module in targets}
    parent = module.rpartition(".")[0]
    home = "xaiexp" if parent in SHARED_HOMES else parent
    branches = {".".join(user.split(".")[:home.count(".") + 2]) for user in users}
    if len(branches) != 1:
        return None
    (branch,) = branches
    beside = branch.rpartition(".")[0] == home and branch != parent
    return branch if beside and branch in PACKAGES else None


def test_the_graph_is_read():
    assert len(MODULES) > 100 and sum(map(len, EDGES.values())) > 300
    assert "xaiexp.app.tasks.train" in EDGES["xaiexp.app.cli"]  # inside a function: it imports TensorFlow


def test_no_import_cycles():
    cycles = _cycles()
    assert cycles == [], [_where(module, target) for cycle in cycles for module in cycle
                          for target in EDGES[module] if target in cycle]


def test_imports_point_down():
    upward = [_where(module, target) for module, targets in EDGES.items() for target in targets
              if _floor(target) > _floor(module)]
    assert upward == []


def test_a_module_only_one_package_uses_lives_in_it():
    alone = {module: package for module in MODULES if module not in PACKAGES
             and module not in ONE_USER_EXCEPTIONS and (package := _sole_user_package(module))}
    assert alone == {}


def test_exceptions_are_still_needed():
    assert all(_sole_user_package(module) for module in ONE_USER_EXCEPTIONS)
