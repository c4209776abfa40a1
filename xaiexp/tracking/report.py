"""``xaiexp report``: compare the runs of an experiment or of a sweep in one table (Markdown and
CSV) and one grid of their saliency maps, without opening the MLflow UI run by run."""

import argparse
import os
import sys
import time
from pathlib import Path

import yaml

from xaiexp.util.project import project_root
from xaiexp.tracking.figure_arrays import load_last_epoch
from xaiexp.tracking.report_runs import ReportError, select_runs
from xaiexp.tracking.report_table import methods_table, runs_table
from xaiexp.tracking.saliency_grid import saliency_grid
from xaiexp.tracking.store import TrackingTarget
from xaiexp.util.util import safe_name

EXIT_NOTHING_TO_REPORT = 2
TABLES = {"runs": runs_table, "methods": methods_table}


def default_experiment():
    """The experiment a plain ``xaiexp`` logs to: the ``name`` in conf/config.yaml."""
    config = Path(__file__).resolve().parents[1] / "conf" / "config.yaml"
    return yaml.safe_load(config.read_text())["name"]


def argument_parser():
    parser = argparse.ArgumentParser(
        prog="xaiexp report",
        description="Compare runs: writes report.md (a Markdown table, 3 significant digits), "
                    "report.csv (the same rows, full precision) and saliency_grid.png (one row "
                    "per run, the input image and one column per saliency method) for an "
                    "experiment's runs or a sweep's child runs, best first by the sweep's "
                    "objective (else by accuracy).")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--parent", metavar="RUN_ID", help="a sweep's parent run: report its child runs")
    which.add_argument("--sweep", choices=["last"],
                       help="last: the child runs of the newest sweep in the experiment")
    parser.add_argument("--experiment", metavar="NAME", default=default_experiment(),
                        help="MLflow experiment (default: %(default)s, that of a plain `xaiexp`)")
    parser.add_argument("--uri", default=None,
                        help="tracking store (default: the embedded store under outputs/, as for "
                             "`xaiexp` and `xaiexp ui`; MLFLOW_TRACKING_URI is not read, pass "
                             "--uri \"$MLFLOW_TRACKING_URI\" for a server)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: outputs/reports/<experiment or sweep>_<time>)")
    parser.add_argument("--mode", choices=["eval", "test"], default="test",
                        help="whose final metrics and saliency maps to compare (default: test)")
    parser.add_argument("--by", choices=list(TABLES), default="runs",
                        help="table rows: runs, or (run, saliency method) pairs with the quality "
                             "metrics as columns (default: runs)")
    parser.add_argument("--probe", metavar="K", type=int, default=0,
                        help="which probe image the grid shows (default: 0, the first)")
    parser.add_argument("--figure", metavar="KEY", default="saliency",
                        help="the figure whose .npz arrays the grid reads (default: saliency)")
    return parser


def main(argv):
    args = argument_parser().parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per run
    target = TrackingTarget.from_config(args.uri, project_root())
    try:
        paths = write_report(target, args)
    except ReportError as error:
        print(f"xaiexp: error: {error}", file=sys.stderr)
        sys.exit(EXIT_NOTHING_TO_REPORT)
    print(*paths, sep="\n")


def write_report(target, args):
    """Select the runs, build the table and the grid, then write the three files; returns their
    paths. Raises ReportError (before writing anything) when there is nothing to show."""
    selection = select_runs(target, args.experiment, args.parent, args.sweep, args.mode)
    table = TABLES[args.by](selection, args.mode)
    from mlflow import MlflowClient  # here, not at the top: `xaiexp report --help` skips mlflow

    client = MlflowClient(target.uri)
    figures = [(run.info.run_name or run.info.run_id,
                load_last_epoch(client, run.info.run_id, safe_name(args.figure), args.mode))
               for run in selection.runs]
    grid, notes = saliency_grid(figures, args.probe)
    if grid is None:
        raise ReportError(f"no {args.figure}/{args.mode}_epoch_*.npz with probe {args.probe} in the "
                          f"{len(figures)} run(s) of {selection.name!r} (were they run with explain=none, "
                          f"or before xaiexp logged figure arrays?)")
    for note in notes:
        print(f"xaiexp: note: {note}", file=sys.stderr)
    out = Path(args.out or Path(project_root(), "outputs", "reports",
                                f"{safe_name(selection.name)}_{time.strftime('%Y-%m-%d_%H-%M-%S')}"))
    out.mkdir(parents=True, exist_ok=True)
    order = "highest" if selection.maximize else "lowest"
    heading = f"# {selection.name}: {args.mode} metrics, {order} {selection.objective} first\n\n"
    (out / "report.md").write_text(heading + table.markdown() + "\n![saliency grid](saliency_grid.png)\n")
    table.write_csv(out / "report.csv")
    (out / "saliency_grid.png").write_bytes(grid.paint_png())
    return out / "report.md", out / "report.csv", out / "saliency_grid.png"
