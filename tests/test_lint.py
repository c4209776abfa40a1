"""Ruff on the code: unused imports and names, undefined names, syntax errors (pyflakes' rules)."""

import shutil
import subprocess

import pytest

from tests.support import ROOT


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extra")
def test_ruff_finds_nothing():
    result = subprocess.run(["ruff", "check", "--select", "F,E9", "--output-format", "concise",
                             "xaiexp", "tests", "benchmarks", "examples", "hydra_plugins"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
