"""Run ``xaiexp`` jobs as forked processes of one interpreter that imported TensorFlow, MLflow and
Hydra once (an import costs 5-15 s; a tiny job about as much again), and print each job's exit
code as JSON lines. Used by test_reliability.py's kill-at-every-point test.

    python tests/support/kill_chain.py '[[null, ["epochs=2", ...]], ["checkpoint.renamed:1", ["resume=last"]]]'

Each entry is ``[XAIEXP_FAULT or null, command-line arguments]``; the jobs run one after the
other, each a real process that the fault hook kills with SIGKILL. The parent runs no
TensorFlow op (forking after one is unsafe), and holds no lock a child takes.
"""

import importlib
import json
import os
import sys
import time

import matplotlib.backends.backend_agg  # noqa: F401  (imported once, for the children)
import xaiexp.app.tasks.train  # noqa: F401  (TensorFlow, Keras, the estimator)
import xaiexp.tracking.mlflow_trace  # noqa: F401
import xaiexp.tracking.run  # noqa: F401
import xaiexp.tracking.sqlite_store  # noqa: F401  (MLflow's SQLAlchemy store)
from xaiexp.app import cli
from xaiexp.util import faults


def job(fault, argv):
    """Run ``xaiexp <argv>`` in a forked child with ``XAIEXP_FAULT=fault``; its exit code
    (negative: the signal that killed it)."""
    pid = os.fork()
    if pid == 0:
        os.environ.pop("XAIEXP_FAULT", None)
        if fault:
            os.environ["XAIEXP_FAULT"] = fault
        importlib.reload(faults)  # it reads XAIEXP_FAULT when imported
        code = 0
        try:
            cli.main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:  # noqa: BLE001  (reported as exit code 1, like the CLI's)
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    for fault, argv in json.loads(sys.argv[1]):
        start = time.monotonic()
        code = job(fault, argv)
        print(json.dumps({"fault": fault, "argv": argv, "exit": code,
                          "seconds": round(time.monotonic() - start, 1)}), flush=True)
