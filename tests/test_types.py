"""mypy on the public API's signatures, with the files and settings pyproject.toml states ([tool.mypy])."""

import importlib.util
import subprocess
import sys

import pytest

from tests.support import ROOT


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is in the test extra")
def test_mypy_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
