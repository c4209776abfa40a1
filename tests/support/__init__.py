"""What the tests share: helper modules and the scripts they run as processes, no test files."""

from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
ROOT = SUPPORT.parents[1]  # the repository: README, examples, benchmarks
