"""The calm console (README "What a run does"): status lines, TensorFlow's notices once, the
console copied to the run's log file, the closing table of explanation metrics, and a progress
bar with rate and ETA on a terminal."""

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest

from tests.support.cli import TINY
from xaiexp.trace.logger import explanation_table
from xaiexp.util import console

NOTICE = (b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
          b"I0000 00:00:1796198826.646430   28809 port.cc:153] oneDNN custom operations are on. "
          b"You may see slightly different numerical results due to floating-point round-off errors "
          b"from different computation orders. To turn them off, set the environment variable "
          b"`TF_ENABLE_ONEDNN_OPTS=0`.\n")


def test_tensorflow_notices_become_one_line_and_other_output_passes(capfd):
    """What TensorFlow 2.21 prints on import (the same notice from two libraries), written to the
    file descriptor as its C++ code does."""
    with console.tensorflow_notices_once():
        os.write(2, NOTICE + b"E0000 a real error\n" + NOTICE + b"E0000 a real error\n")
    err = capfd.readouterr().err.splitlines()
    assert err == ["E0000 a real error",
                   "xaiexp: TensorFlow with oneDNN (last digits may vary; TF_ENABLE_ONEDNN_OPTS=0 turns it off)"]


def test_the_console_log_copies_lines_and_details_but_not_progress_redraws(tmp_path, capsys):
    path = tmp_path / "console.log"
    with console.ConsoleLog(str(path)):
        kept = sys.stderr  # as a logging handler made meanwhile (TensorFlow's, mlflow's) keeps it
        print("xaiexp-Train: step: 1;")
        sys.stderr.write("\r  3/8 [00:01<00:02]\r  5/8 [00:01<00:01]\r\033[K")
        console.detail("every value")
        console.status("building…")
        assert console.log_path() == str(path)
    console.detail("after: dropped")
    kept.write("after: to the terminal only\n")
    kept.close()  # as absl's handler does when Hydra sets up a sweep's next job: stderr stays open
    print("still open", file=sys.stderr)
    assert console.log_path() is None
    assert path.read_text() == "xaiexp-Train: step: 1;\nevery value\nxaiexp: building…\n"
    err = capsys.readouterr().err
    assert "3/8" in err and "after: to the terminal only\nstill open" in err  # the terminal got the redraws


def test_explanation_table_aligns_methods_and_wraps_wide_metric_sets():
    logs = {"ce": 0.5, "xai/saliency/relevance_mass": 0.61234, "xai/saliency/relevance_mass_ci_low": 0.5812,
            "xai/saliency/relevance_mass_ci_high": 0.6434, "xai/saliency/relevance_mass_n": 100,
            "xai/saliency/relevance_mass_floor_p": 1e-6, "xai/smint_saliency/relevance_mass": 0.7,
            "xai/smint_saliency/relevance_mass_n": 100, "xai/smint_saliency/relevance_mass_floor_p": 0.2,
            "xai/uniform_floor/relevance_mass": 0.35, "xai/uniform_floor/relevance_mass_n": 100}
    assert explanation_table(logs) == [
        "explanation scores of 100 test images: mean [95 % CI]; ~: not above its chance floor",
        "method         relevance_mass",
        "vanilla        0.612 [0.58, 0.64]",
        "smint          ~0.7",  # its p-value against the floor is 0.2
        "uniform floor  0.35"]
    wide = {f"xai/{method}/{metric}_{n}": 0.5 for method in ("a", "b") for metric in ("deletion_auc",)
            for n in range(8)}
    lines = explanation_table(wide)
    assert max(map(len, lines)) <= 98 and len(lines) == 1 + 2 * 3  # two blocks of header + 2 rows
    assert [line.split()[0] for line in lines[1:]] == ["method", "a", "b"] * 2


@pytest.mark.slow
def test_a_terminal_gets_a_progress_bar_with_rate_and_eta(home):
    """The real command under a pseudo-terminal: tqdm's bar with steps/s and the time left."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    overrides = [*TINY, "dataset.n_train=1024", "epochs=1", "explain=none", "log_steps=0", "tracking=none"]
    proc = subprocess.Popen([sys.executable, "-m", "xaiexp", *overrides], stdin=terminal,
                            stdout=terminal, stderr=terminal, env=os.environ)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=300) == 0
    screen = b"".join(chunks).decode(errors="replace")
    assert re.search(r"train 1/1: +\d+%\|.*\| \d+/32 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+step/s\]", screen), screen[-2000:]
    shown = [line.rstrip("\r").rpartition("\r")[2] for line in screen.split("\n")]  # as the eye sees
    assert any(re.fullmatch(r"xaiexp-Test: step: 32; epoch: 1; ce: \S+; accuracy: \S+;", line)
               for line in shown), shown
    assert not any("step/s" in line for line in shown), shown  # each bar cleared itself
    assert max(len(line) for line in shown if str(home) not in line) <= 160, shown  # (pytest's long tmp path)
