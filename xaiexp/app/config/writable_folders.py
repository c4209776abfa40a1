"""The folders a command writes in, tried before it starts (``util.writable``): a read-only mount
or a full disk is one line naming the key, not a failed run."""

import os

from xaiexp.app.config.validate import require
from xaiexp.util.project import project_root
from xaiexp.util.writable import write_problem


def check_writable(folder, key, what, advice=""):
    """``folder`` can be created and written in, else ConfigError naming ``key``."""
    problem = write_problem(folder, what, advice)
    require(problem is None, key, problem)


def check_output_dir(overrides, multirun):
    """Hydra's run (or sweep) folder: its fixed part, before any ``${...}``, must be writable."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = [o.split("=", 1)[1] for o in overrides if o.startswith(f"{key}=")]
    folder = given[-1].split("$", 1)[0] if given else os.path.join(project_root(), "outputs")
    check_writable(folder or ".", key, "the output folder")
