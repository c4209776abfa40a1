"""How fast ``xaiexp --help`` answers, beside the floor any Python command pays.

    python benchmarks/cli_help.py [--rounds 15] [--budget 1.0]

Times three fresh processes: ``python -c pass`` (the interpreter and its site packages),
``python -c "import hydra"`` (the Hydra app's least) and ``xaiexp --help`` (run as the console
script does: the interpreter, then ``xaiexp.app.cli:main``). Rounds rotate the order in one
process, so a busy machine slows all three alike; the table shows each one's median and
quickest wall time and the ratios of the medians, then whether the median of ``--help`` is
within the budget (1 s on 2 idle cores). The quickest times are the ones nearest an idle machine.
To see what ``--help`` imports and what each import costs:
``python -X importtime -m xaiexp --help 2>&1 >/dev/null | sort -t'|' -k2 -n | tail``.
"""

import argparse
import os
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


def wall_time(command):
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def timings(rounds):
    """``{name: [seconds, ...]}``, each round running every command once, in rotated order."""
    names = list(COMMANDS)
    times = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(wall_time(COMMANDS[name]))
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds --help may take")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before, {args.rounds} rounds")
    wall_time(COMMANDS[HELP])  # a warm file cache for every command alike
    times = timings(args.rounds)
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':<26} {'median s':>9} {'quickest s':>11} {'/ python':>9} {'/ hydra':>8}")
    hydra = statistics.median(times["python -c 'import hydra'"])
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{name:<26} {median:9.3f} {min(seconds):11.3f} {median / floor:9.2f} {median / hydra:8.2f}")
    median = statistics.median(times[HELP])
    print(f"load average {os.getloadavg()[0]:.2f} after")
    verdict = "within" if median < args.budget else "OVER"
    print(f"verdict: xaiexp --help {median:.3f} s (quickest {min(times[HELP]):.3f} s), {verdict} the "
          f"{args.budget:g} s budget; {median - hydra:.3f} s above importing Hydra")


if __name__ == "__main__":
    main()
