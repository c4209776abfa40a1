"""Find what a ``_target_`` names, and its parameters, without importing it.

A user's model module imports TensorFlow at its top, which costs 5-13 s; a typo in its
``_target_`` or its arguments should cost a fraction of a second. So the target's module is
found on ``sys.path`` (``importlib.util.find_spec`` of the top-level package only, which runs no
code) and its source is read with ``ast``, following ``from x import y`` re-exports. What cannot be
read that way (a compiled module, a name made at run time) is accepted, and Hydra's
``instantiate`` has the last word when the job starts.

The working directory is not on ``sys.path`` (a ``filelock.py`` there would shadow the installed
package): it is searched for the top-level module a ``_target_`` names, and only when no
installed package or ``PYTHONPATH`` entry has it (README "Security").
"""

import ast
import importlib.machinery
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass
from pathlib import Path

MAX_REEXPORTS = 8  # ``from a import b`` hops followed before giving up (accepting the name)


@dataclass(frozen=True)
class Signature:
    """The parameters a callable takes by keyword; ``open`` when it also takes ``**kwargs``."""
    names: tuple
    required: tuple
    open: bool

    def accepts(self, name: str) -> bool:
        return self.open or name in self.names


class TargetNotFound(LookupError):
    """The message says what is missing: the module, or the name in it."""


def signature(target: str) -> Signature | None:
    """The keyword parameters of ``target`` (a function, or a class's ``__init__``), or None when
    they cannot be read without running code; raises TargetNotFound when it does not exist."""
    if not isinstance(target, str) or not target or "." not in target.strip("."):
        raise TargetNotFound(f"expected a dotted path like mypackage.module.function, got {target!r}")
    return _find(target, MAX_REEXPORTS)


def _find(target, hops):
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module, names = ".".join(parts[:cut]), parts[cut:]
        if module in sys.modules:  # already imported: ask the object itself
            return _imported(sys.modules[module], names, target)
        source = _module_source(module)
        if source is not None:
            return _in_source(source, module, names, target, hops)
    raise TargetNotFound(f"cannot find {target}: no module named {parts[0]!r} (is its folder the "
                         f"working directory, or on PYTHONPATH?)")


def _top_spec(top):
    """The spec of top-level module ``top``: installed (or on ``sys.path``), else in the working
    directory; None if neither has it."""
    try:
        return importlib.util.find_spec(top) or importlib.machinery.PathFinder.find_spec(top, [os.getcwd()])
    except (ImportError, ValueError):
        return None


def import_target_module(target: str) -> None:
    """Import the top-level module of ``target`` from the working directory when it is not
    importable otherwise, so that Hydra's ``instantiate`` finds it; nothing else is searched there."""
    top = target.split(".")[0]
    if not top or top in sys.modules or importlib.util.find_spec(top) is not None:
        return
    spec = _top_spec(top)
    if spec is None or spec.loader is None:
        return  # missing: Hydra's error names it
    module = importlib.util.module_from_spec(spec)
    sys.modules[top] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[top]
        raise


def leaves(node, prefix=""):
    """(dotted key, value) of every dict, list and value in plain ``node``, at any depth."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for name, value in items:
        path = f"{prefix}[{name}]" if isinstance(node, list) else f"{prefix}{'.' if prefix else ''}{name}"
        yield path, value
        yield from leaves(value, path)


def named_targets(node) -> list:
    """(dotted key, value) of every ``_target_`` in plain ``node`` (nested ones too: Hydra's
    ``instantiate`` calls those first)."""
    return [(path, value) for path, value in leaves(node) if path.rpartition(".")[2] == "_target_"]


def _module_source(module):
    """The path of ``module``'s source (``""`` when it exists but has none to read), or None."""
    top, *rest = module.split(".")
    spec = _top_spec(top)
    if spec is None:
        return None
    path = Path(spec.origin) if spec.origin and spec.has_location else None
    folders = list(spec.submodule_search_locations or [])
    for part in rest:
        found = None
        for folder in folders:
            for candidate in (Path(folder, part, "__init__.py"), Path(folder, f"{part}.py")):
                if candidate.is_file():
                    found = candidate
                    break
            if found is None and (Path(folder, part).is_dir()
                                  or any(Path(folder).glob(f"{part}.*.so"))):
                found = Path(folder, part)  # a namespace package or a compiled module
            if found is not None:
                break
        if found is None:
            return None
        path = found
        folders = [found.parent] if found.name == "__init__.py" else [found] if found.is_dir() else []
    return str(path) if path is not None and path.suffix == ".py" else ""


def _in_source(path, module, names, target, hops):
    if not path:
        return None  # compiled or namespace: cannot read, accept
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    definition = _definition(tree.body, names[0])
    if definition is None:
        if _has_star_import_or_getattr(tree):
            return None
        raise TargetNotFound(f"cannot find {target}: {module} has no {names[0]!r}")
    if isinstance(definition, ast.ImportFrom) and hops > 0:
        origin = _resolve_relative(definition, module, path)
        imported = next(a.name for a in definition.names if (a.asname or a.name) == names[0])
        return _follow(f"{origin}.{imported}", names[1:], hops - 1)
    for name in names[1:]:  # Class.method
        body = definition.body if isinstance(definition, ast.ClassDef) else []
        definition = _definition(body, name)
        if definition is None:
            raise TargetNotFound(f"cannot find {target}: no {name!r} in {'.'.join(names[:-1])}")
    return _signature_of(definition)


def _follow(target, rest, hops):
    try:
        return _find(".".join([target, *rest]), hops)
    except TargetNotFound:
        return None  # a re-export we cannot trace (e.g. from a compiled module): accept it


def _resolve_relative(node, module, path):
    if not node.level:
        return node.module
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _definition(body, name):
    """The last top-level statement of ``body`` that binds ``name``."""
    found = None
    for node in body:
        if _binds(node, name):
            found = node
        elif isinstance(node, (ast.If, ast.Try)):
            found = _definition([*node.body, *getattr(node, "orelse", [])], name) or found
    return found


def _binds(node, name):
    """Whether statement ``node`` defines, imports or assigns ``name``."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == name
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names)
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return name in {target.id for target in targets if isinstance(target, ast.Name)}
    return False


def _has_star_import_or_getattr(tree):
    return any((isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names))
               or (isinstance(n, ast.FunctionDef) and n.name == "__getattr__") for n in tree.body)


def _signature_of(node):
    if isinstance(node, ast.ClassDef):
        init = _definition(node.body, "__init__")
        if isinstance(init, ast.FunctionDef):
            return _parameters(init.args, skip_first=True)
        return _dataclass_fields(node)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _parameters(node.args, skip_first=False)
    return None  # a module-level assignment: a callable made at run time


def _dataclass_fields(node):
    """The ``__init__`` that ``@dataclass`` generates for a class of no bases: its annotated
    fields in order, those without a value required; None for any other class (inherited)."""
    decorators = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
    if node.bases or not any(getattr(d, "id", getattr(d, "attr", None)) == "dataclass" for d in decorators):
        return None
    fields = [f for f in node.body if isinstance(f, ast.AnnAssign) and isinstance(f.target, ast.Name)
              and "ClassVar" not in ast.unparse(f.annotation)]
    return Signature(names=tuple(f.target.id for f in fields),
                     required=tuple(f.target.id for f in fields if f.value is None), open=False)


def _parameters(args, skip_first):
    positional = [*args.posonlyargs, *args.args][1 if skip_first else 0:]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    keyword = [a for a in positional if a not in args.posonlyargs]
    required = [a.arg for a, d in zip(positional, defaults) if d is None and a in keyword]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    return Signature(names=tuple(a.arg for a in [*keyword, *args.kwonlyargs]),
                     required=tuple(required), open=args.kwarg is not None)


def _imported(module, names, target):
    obj = module
    for name in names:
        if not hasattr(obj, name):
            raise TargetNotFound(f"cannot find {target}: {obj.__name__} has no {name!r}")
        obj = getattr(obj, name)
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return None
    keyword = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return Signature(names=tuple(p.name for p in keyword),
                     required=tuple(p.name for p in keyword if p.default is p.empty),
                     open=any(p.kind is p.VAR_KEYWORD for p in params))
