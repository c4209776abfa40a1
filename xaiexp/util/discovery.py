"""Find what the modules of a package define, reading their source before importing them.

A component (a dataset loader, a model builder, a schedule) is one module that declares itself;
its package is searched rather than listed, so adding one is adding its file. The source is read
first (``ast``, no code runs) so that only the modules that define the name asked for are
imported: a sibling that imports TensorFlow at its top (a Keras layer) stays unimported while
the declarations are read.
"""

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType


def modules_defining(package: ModuleType, name: str) -> list[str]:
    """Full names of ``package``'s modules (not sub-packages) that bind ``name`` at their top
    level (a def, class or assignment), in file-name order."""
    return [f"{package.__name__}.{info.name}" for info in sorted(pkgutil.iter_modules(package.__path__),
                                                                  key=lambda info: info.name)
            if not info.ispkg and name in _top_level_names(Path(info.module_finder.path, f"{info.name}.py"))]


def declarations(package: ModuleType, name: str) -> dict[str, object]:
    """{module name: its ``name``} of every module of ``package`` that binds ``name``."""
    return {module: getattr(importlib.import_module(module), name)
            for module in modules_defining(package, name)}


def _top_level_names(path: Path) -> set[str]:
    if not path.is_file():
        return set()  # compiled: not a component module
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names
