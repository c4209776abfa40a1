import os
import sys

# ``python -m xaiexp`` starts with the working directory first on sys.path, where a file such as
# filelock.py would shadow the installed package: xaiexp looks there only for the module a
# ``_target_`` names (README "Security"). Done before anything else is imported.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from xaiexp.app.cli import main  # noqa: E402

main()
