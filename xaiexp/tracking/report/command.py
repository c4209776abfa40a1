"""``xaiexp report``: compare the runs of an experiment or of a sweep in one table (printed, and as
Markdown and CSV) and one grid of their saliency maps, without opening the MLflow UI run by run;
paired tests on the images the runs both scored say which score differences are real."""

import argparse
import os
import re
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from xaiexp.util.project import config_dir, project_root
from xaiexp.tracking.figure_arrays import load_last_epoch
from xaiexp.tracking.report.pairs import ALPHA, adjusted, compare
from xaiexp.tracking.report.runs import ReportError, runs_frame, select_runs
from xaiexp.tracking.report.table import (LOW, P_SUFFIX, Q_SUFFIX, SHARED, SIGNIFICANT, Table, methods_table,
                                          runs_table, with_intervals)
from xaiexp.tracking.report.saliency_grid import saliency_grid
from xaiexp.tracking.store import TrackingTarget
from xaiexp.util.util import safe_name
from xaiexp.xai.image_scores import IMAGE_ID
from xaiexp.xai.statistics import LABEL

EXIT_NOTHING_TO_REPORT = 2
TERMINAL_WIDTH = 100  # the printed report's widest line
TABLES = {"runs": runs_table, "methods": methods_table}


def default_experiment():
    """The experiment a plain ``xaiexp`` logs to: the ``name`` in conf/config.yaml."""
    config = Path(config_dir()) / "config.yaml"
    return yaml.safe_load(config.read_text())["name"]


def argument_parser():
    parser = argparse.ArgumentParser(
        prog="xaiexp report",
        description="Compare runs: prints the table and writes report.md (a Markdown table, each "
                    "score as its mean and 95 % CI, * where a paired test on the images both runs "
                    "scored separates it from the best run's), report.csv (the same rows, full "
                    "precision, with intervals and p-values) and saliency_grid.png (one row "
                    "per run: label, prediction, the input image and one column per saliency "
                    "method) for an experiment's runs or a sweep's child runs, best first by the "
                    "sweep's objective (else by accuracy).")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--parent", metavar="RUN_ID", help="a sweep's parent run (its id, or a unique prefix of "
                                                        "it): report its child runs")
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
    target = TrackingTarget.from_config(args.uri)
    try:
        check_out(args.out)
        with warnings.catch_warnings():  # what a report cannot show, its notes say; scipy's and
            warnings.simplefilter("ignore")  # MLflow's warnings only pushed the table away
            report = write_report(target, args)
    except ReportError as error:
        print(f"xaiexp: error: {error}", file=sys.stderr)
        sys.exit(EXIT_NOTHING_TO_REPORT)
    for note in report.notes:
        print(f"xaiexp: note: {note}", file=sys.stderr)
    legend = ["", *report.legend] if report.legend else []
    print(textwrap.fill(report.heading, TERMINAL_WIDTH, subsequent_indent="  "), "",
          report.table.terminal(TERMINAL_WIDTH, outputs=safe_name(args.figure)), *legend, "",
          *map(_shown_path, report.paths), sep="\n")


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)


def _folder_name(name: str) -> str:
    """A sweep's or experiment's name as a short folder name (``sweep lenet · shapes · every=5``
    -> ``sweep_lenet_shapes_every_5``): its paths stay readable in a terminal."""
    short = re.sub(r"_+", "_", safe_name(name)).strip("_")
    return (short if len(short) <= 40 else short[:41].rsplit("_", 1)[0]) or "report"


def check_out(out: str | None) -> None:
    """``--out`` can become a folder: no file stands on its way (checked before any run is read)."""
    if out is None:
        return
    for folder in (Path(out), *Path(out).parents):
        if folder.exists():
            if not folder.is_dir():
                raise ReportError(f"--out: {folder} is a file, so {out} cannot be a folder")
            return


@dataclass(frozen=True)
class Report:
    heading: str
    table: Table
    legend: list  # what the marks mean
    notes: list  # what is missing, and why
    paths: list  # the files written


def write_report(target, args) -> Report:
    """Select the runs, build the table (with the paired tests) and the grid, then write the
    files. Raises ReportError (before writing anything) when there is nothing to show."""
    selection = select_runs(target, args.experiment, args.parent, args.sweep, args.mode)
    from mlflow import MlflowClient  # here, not at the top: `xaiexp report --help` skips mlflow

    client = MlflowClient(target.uri)
    key = safe_name(args.figure)
    scores = [load_last_epoch(client, run.info.run_id, f"{key}_scores", args.mode)
              for run in selection.runs]
    frame = with_intervals(runs_frame(selection.runs), [_without_ids(s) for s in scores], args.mode)
    pairings = adjusted([compare(scores[0], other) for other in scores])
    table = TABLES[args.by](frame, selection.objective, args.mode, key, pairings)
    notes = pairing_notes([run.info.run_name or run.info.run_id for run in selection.runs],
                          [found is not None for found in scores], pairings)
    grid, grid_notes = report_grid(client, selection.runs, frame, args)
    out = Path(args.out or Path(project_root(), "outputs", "reports",
                                f"{_folder_name(selection.name)}_{time.strftime('%Y-%m-%d_%H-%M-%S')}"))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportError(f"--out: cannot make the folder {out}: {error.strerror or error}") from None
    order = "highest" if selection.maximize else "lowest"
    heading = f"# {selection.name}: {args.mode} metrics, {order} {selection.objective} first"
    legend = [INTERVALS] if any(c.endswith(LOW) for c in table.frame.columns) else []
    if any(pairing and pairing.tests for pairing in pairings[1:]):
        legend.append(marks_legend(pairings))
    picture = "\n![saliency grid](saliency_grid.png)\n" if grid is not None else ""
    (out / "report.md").write_text("\n\n".join([heading, table.markdown(), *legend]) + picture)
    table.write_csv(out / "report.csv")
    paths = [out / "report.md", out / "report.csv"]
    if grid is not None:
        (out / "saliency_grid.png").write_bytes(grid.paint_png())
        paths.append(out / "saliency_grid.png")
    return Report(heading, table, legend, notes + grid_notes, paths)


INTERVALS = (f"each score: mean [{LABEL}] (exact Clopper-Pearson for 0/1 scores, Student-t for "
             f"the others)")


def marks_legend(pairings) -> str:
    """What ``*`` means: the tests the report ran, each with the metrics it tested."""
    metrics = {}
    for pairing in pairings[1:]:
        for key, test in (pairing.tests if pairing else {}).items():
            metrics.setdefault(test, {})[key.partition("/")[2]] = None
    used = "; ".join(f"{test}: {', '.join(names)}" for test, names in metrics.items())
    return textwrap.fill(
        f"{SIGNIFICANT}: differs from the first run's on the {SHARED} images, p < {ALPHA} adjusted "
        f"for all the report's tests by Benjamini-Hochberg ({used}); CSV: <score>{P_SUFFIX}, "
        f"adjusted <score>{Q_SUFFIX}", width=100, subsequent_indent="   ", break_on_hyphens=False)


def _without_ids(scores):
    """A run's logged per-image scores by ``<method>/<metric>``, the image ids left out."""
    return None if scores is None else {k: v for k, v in scores.items() if k != IMAGE_ID}


def pairing_notes(names, scored, pairings):
    """Why a run's scores were not tested against the best run's (``names[0]``); ``scored``:
    whether each run logged per-image scores."""
    if not any(scored):
        return []
    if not scored[0]:
        return [f"the best run {names[0]!r} logged no per-image scores: no paired tests"]
    return [f"run {name!r} scored none of the best run's images (another seed or dataset?): "
            f"its scores cannot be compared image by image" if pairing else
            f"run {name!r} logged no per-image scores: not compared with the best run"
            for name, pairing in zip(names[1:], pairings[1:]) if not (pairing and pairing.shared)]


def report_grid(client, runs, frame, args):
    """(ImgData or None, notes): the grid of probe ``args.probe``, a row per run with arrays."""
    figures, notes = [], []
    accuracy = frame.get(f"metrics.{args.mode}/accuracy", [None] * len(runs))
    for run, value in zip(runs, accuracy):
        name = run.info.run_name or run.info.run_id
        params = run.data.params  # explain=none logs its group choice; explain.enabled=false its key
        if params.get("explain") == "none" or params.get("explain.enabled") == "False":
            notes.append(f"run {name!r} ran with explain=none: no saliency maps; left out of the grid")
            continue
        arrays = load_last_epoch(client, run.info.run_id, safe_name(args.figure), args.mode)
        figures.append((name, value, arrays))
    grid, left_out = saliency_grid(figures, args.probe)
    notes += left_out
    if grid is None:
        notes.append(f"no grid: no run has {safe_name(args.figure)}/{args.mode}_epoch_*.npz with "
                     f"probe {args.probe}; the table only")
    return grid, notes
