"""One home per rule: each rule below is written in exactly one place of the package and its
configs, so a change to it is one edit. A second site (a copied default, a re-parsed URL) fails
here with both places named."""

import re

import pytest

from tests.support import ROOT

SOURCES = [*sorted((ROOT / "xaiexp").rglob("*.py")), *sorted((ROOT / "conf").rglob("*.yaml"))]

# (the rule, a pattern that finds where it is defined)
RULES = [
    ("the package's conf/ folder", r"def config_dir\b"),
    ("where a config's runs are tracked", r"TrackingTarget\.from_config\(cfg"),
    ("no tracking URI means the embedded store under the project root",
     r"embedded\(root or project_root\(\)\)"),
    ("a run's experiment: tracking.experiment, else the config's name", r"tracking\.experiment or"),
    ("a sqlite:/// URL's file path", r"removeprefix\(\"sqlite"),
    ("the data-parallel strategies", r"^STRATEGIES = "),
    ("the mixed-precision policies", r"^PRECISIONS = "),
    ("MLflow's experiment-name limit", r"MAX_EXPERIMENT_NAME = "),
    ("MLflow's run-name limit", r"MAX_RUN_NAME = "),
    ("MLflow's file store needs MLFLOW_ALLOW_FILE_STORE", r"MLFLOW_ALLOW_FILE_STORE\", \"\""),
    ("a tracking server's health URL", r"\"/health\""),
    ("which stores serve their own UI", r"startswith\(\(\"http://\", \"https://\"\)\)"),
    ("the tables of an MLflow store", r"MLFLOW_TABLES = "),
]


def sites(pattern):
    regex = re.compile(pattern, re.M)
    return [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
            for path in SOURCES for text in [path.read_text()] for match in regex.finditer(text)]


@pytest.mark.parametrize("rule, pattern", RULES, ids=[rule for rule, _ in RULES])
def test_each_rule_has_one_home(rule, pattern):
    found = sites(pattern)
    assert len(found) == 1, f"{rule}: {len(found)} definition sites {found}"
