"""The console's line about the data a run uses, before training: the dataset, its classes, the
images' size (and the size they are resized to) and the split sizes, within 100 columns, e.g.

    xaiexp: data: folder ~/digits: 10 classes (0, 1, 2, …), 64×64 → 32×32×3, train 1440 · eval 180 · test 180
"""

import os

from xaiexp.app.config.components import target_schemas

WIDTH = 100
PREFIX = "xaiexp: "  # what ``status`` puts before it


def describe_data(data, train, evaluation, test) -> str:
    """The line (without PREFIX) for the dataset node ``data`` and its loaded splits."""
    mapping = train.label_mapping or {}
    names = sorted(mapping, key=mapping.get)
    height, width, channels = train.shape("x")
    stored = getattr(train, "stored_size", None)  # a loader that resizes (FileDataset) knows it
    resized = f"{stored[0]}×{stored[1]} → " if stored and tuple(stored) != (height, width) else ""
    tail = (f"), {resized}{height}×{width}×{channels}, train {len(train)} · eval {len(evaluation)} "
            f"· test {len(test)}")
    kind, where = _source(data)
    room = WIDTH - len(PREFIX) - len(_head(kind, where, names)) - len(tail)
    if room < 1:  # a long path: keep its end, and room for "…" as the names
        keep = max(0, len(where) - (1 - room) - 1)
        where = "…" + where[len(where) - keep:]
        room = WIDTH - len(PREFIX) - len(_head(kind, where, names)) - len(tail)
    return _head(kind, where, names) + _cut(names, room) + tail


def _head(kind, where, names):
    return f"data: {kind}{' ' + where if where else ''}: {len(names)} classes ("


def _source(data):
    """(a built-in loader's name (folder, npz, shapes ...) or the target, its path or name)."""
    target = data._target_
    kind = target.split(".")[-2] if target in target_schemas() else target
    where = str(data.get("path") or data.get("name") or "")
    here, home = os.getcwd(), os.path.expanduser("~")
    if where.startswith(here + os.sep):  # as the user named it (the logged config's path is absolute)
        return kind, os.path.relpath(where, here)
    return kind, "~" + where[len(home):] if where.startswith(home + os.sep) else where


def _cut(names, room):
    """``names`` joined by ", ", cut to ``room`` characters with a trailing "…"."""
    text = ", ".join(names)
    if len(text) <= room:
        return text
    shown = []
    for name in names:
        if len(", ".join([*shown, name, "…"])) > room:
            break
        shown.append(name)
    return ", ".join([*shown, "…"])
