"""How fast ``xaiexp --help`` answers, beside the floor any Python command pays.

    python benchmarks/cli_help.py [--rounds 15] [--budget 1.0]

Times three fresh processes: ``python -c pass`` (the interpreter and its site packages),
``python -c "import hydra"`` (the Hydra app's least) and ``xaiexp --help`` (run as the console
script does: the interpreter, then ``xaiexp.app.cli:main``). Rounds rotate the order in one
process, so a busy machine slows all three alike; the table shows each one's median and
quickest wall time, the ratios of the medians, and the median CPU time (user + system), which
other processes' load disturbs far less than the wall time: on idle cores the wall time of
these single-threaded commands is about their CPU time. Then whether the median wall time of
``--help`` is within the budget (1 s on 2 idle cores).
To see what ``--help`` imports and what each import costs:
``python -X importtime -m xaiexp --help 2>&1 >/dev/null | sort -t'|' -k2 -n | tail``.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import hydra'": [sys.executable, "-c", "import hydra"],
    "xaiexp --help": [sys.executable, "-m", "xaiexp", "--help"],
}
HELP = "xaiexp --help"


def cpu_seconds():
    """User + system CPU seconds of this process's ended children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command):
    """(wall seconds, CPU seconds) of one run of ``command``."""
    start, cpu = time.perf_counter(), cpu_seconds()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start, cpu_seconds() - cpu
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def timings(rounds):
    """``{name: [(wall, cpu) seconds, ...]}``, each round running every command once, in
    rotated order."""
    names = list(COMMANDS)
    times = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timed(COMMANDS[name]))
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds --help may take")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before, {args.rounds} rounds")
    timed(COMMANDS[HELP])  # a warm file cache for every command alike
    times = timings(args.rounds)
    wall = {name: [w for w, _ in runs] for name, runs in times.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in times.items()}
    python, hydra = statistics.median(wall["python -c pass"]), statistics.median(wall["python -c 'import hydra'"])
    print(f"{'command':<26} {'median s':>9} {'quickest s':>11} {'/ python':>9} {'/ hydra':>8} {'CPU s':>7}")
    for name, seconds in wall.items():
        median = statistics.median(seconds)
        print(f"{name:<26} {median:9.3f} {min(seconds):11.3f} {median / python:9.2f} {median / hydra:8.2f} "
              f"{cpu[name]:7.3f}")
    median, load = statistics.median(wall[HELP]), os.getloadavg()[0]
    print(f"load average {load:.2f} after")
    verdict = "within" if median < args.budget else "OVER"
    print(f"verdict: xaiexp --help {median:.3f} s (quickest {min(wall[HELP]):.3f} s, CPU {cpu[HELP]:.3f} s), "
          f"{verdict} the {args.budget:g} s budget; {median - hydra:.3f} s above importing Hydra")
    if load > 1:
        print(f"(a busy machine: on {os.cpu_count()} idle cores expect about the CPU time)")


if __name__ == "__main__":
    main()
