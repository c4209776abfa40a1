"""Modules a test adds to one of xaiexp's packages, so that discovery finds them as it finds the
built-ins (a method, a metric, a dataset, a model): written into a folder of their own on the
package's path."""

import contextlib
import sys


@contextlib.contextmanager
def added_modules(package, folder, monkeypatch):
    """Yields ``add(name, source)``, which writes module ``name`` into ``folder`` on ``package``'s
    path; afterwards the path is restored (through ``monkeypatch``) and the added modules are
    forgotten, so the next test sees the package as shipped."""
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    added = []

    def add(name, source):
        (folder / f"{name}.py").write_text(source)
        added.append(f"{package.__name__}.{name}")
        sys.modules.pop(added[-1], None)

    try:
        yield add
    finally:
        for module in added:
            sys.modules.pop(module, None)
