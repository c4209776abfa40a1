"""The built-in components' schemas, found where the components live.

Every module of a component package that binds ``SCHEMAS`` declares the config schemas of the
callables it offers as ``_target_``s (a dataclass each, whose ``_target_`` default names the
callable). Those modules import TensorFlow only inside their functions, so the schemas are read
without it; a helper module that imports TensorFlow at its top (a Keras layer) binds no
``SCHEMAS`` and is never imported here (``xaiexp.util.discovery``). A new dataset or model is one
module in its package plus its YAML in ``conf/``; nothing here lists them. The YAML starts from
its schema's defaults (``defaults_nodes``), so each default has one home: the schema.
"""

import dataclasses
import functools
import importlib

from xaiexp.util.discovery import declarations

# Config group -> the package (or the one module) that holds its built-in components
HOMES = {"dataset": "xaiexp.dataset.data", "model": "xaiexp.architecture.tensorflow",
         "schedule": "xaiexp.schedule", "decoy": "xaiexp.xai.decoy"}


@functools.cache
def group_schemas() -> dict[str, dict[str, type]]:
    """{group: {target: schema}} of every built-in component."""
    found = {}
    for group, home in HOMES.items():
        module = importlib.import_module(home)
        declared = (declarations(module, "SCHEMAS") if hasattr(module, "__path__")
                    else {home: module.SCHEMAS})
        found[group] = {}
        for where, schemas in declared.items():
            for schema in schemas:
                if schema._target_ in found[group]:
                    raise ValueError(f"{schema._target_} has two schemas, the second in {where}")
                found[group][schema._target_] = schema
    return found


def target_schemas() -> dict[str, type]:
    """{target: schema} of every built-in component; any other target is a user's, checked by
    its signature."""
    return {target: schema for schemas in group_schemas().values() for target, schema in schemas.items()}


def defaults_nodes() -> dict[str, dict]:
    """{schema class name: its defaults as plain values} of every built-in component: the node an
    option's YAML starts from (``defaults: [/FolderConfig@_here_, _self_]``), so the option holds
    only what differs from its schema while every key users may set exists after composition
    (Hydra refuses ``dataset.size=32`` for a key the composed config lacks)."""
    nodes = {}
    for schema in target_schemas().values():
        if schema.__name__ in nodes:
            raise ValueError(f"two built-in schemas are named {schema.__name__}")
        nodes[schema.__name__] = _defaults(schema)
    return nodes


def _defaults(schema) -> dict:
    """A schema's defaults, "???" (required) where it has none: ``dataclasses.asdict`` of an
    instance, as ``OmegaConf.structured`` would give them at a fiftieth of its cost, which every
    command (``--help`` too) pays."""
    required = {item.name: "???" for item in dataclasses.fields(schema)
                if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING}
    return dataclasses.asdict(schema(**required))
