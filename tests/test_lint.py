"""Ruff on the code with the rule set pyproject.toml states ([tool.ruff.lint])."""

import shutil
import subprocess

import pytest

from tests.support import ROOT


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extra")
def test_ruff_finds_nothing():
    result = subprocess.run(["ruff", "check", "--output-format", "concise",
                             "xaiexp", "tests", "benchmarks", "examples", "hydra_plugins", "docs"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
