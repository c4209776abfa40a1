"""Find what the modules of a package define, reading their source before importing them.

A component (a dataset loader, a model builder, a schedule) is one module that declares itself;
its package is searched rather than listed, so adding one is adding its file. The source is read
first, for a line that binds the name at the module's top level (``def name``, ``class name``,
``name =``, at column 0), so that only the modules that define the name asked for are imported:
a sibling that imports TensorFlow at its top (a Keras layer) stays unimported while the
declarations are read. A text search, not a parse: parsing every module costs ~0.1 s.
"""

import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType


def modules_defining(package: ModuleType, name: str) -> list[str]:
    """Full names of ``package``'s modules (not sub-packages) that bind ``name`` at their top
    level, in file-name order."""
    binding = re.compile(rf"^(?:(?:async\s+)?def\s+|class\s+){re.escape(name)}\b|^{re.escape(name)}\s*[:=]",
                         re.MULTILINE)
    return [f"{package.__name__}.{info.name}"
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name)
            if not info.ispkg and binding.search(_source(Path(info.module_finder.path, f"{info.name}.py")))]


def declarations(package: ModuleType, name: str) -> dict[str, object]:
    """{module name: its ``name``} of every module of ``package`` that binds ``name``."""
    return {module: getattr(importlib.import_module(module), name)
            for module in modules_defining(package, name)}


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""  # compiled: no component
