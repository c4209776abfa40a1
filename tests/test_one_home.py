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
    ("ImageNet's channel means", r"0\.485"),
    ("ImageNet's channel standard deviations", r"0\.229"),
    ("the largest pixel value Normalize divides by", r"255\.0"),
    ("ImageNet backbones' input side", r"IMAGENET_SIZE = "),
    ("an image folder's default side", r"bounded\(224"),
    ("each option's defaults: its schema's, the node its YAML starts from", r"def defaults_nodes\b"),
    ("a config field's bounds", r"def bounded\b"),
    ("the keys every dataset config has", r"^class DatasetKeys\b"),
    ("the keys every model config has", r"^class ModelKeys\b"),
    ("the Saliency settings, their bounds and library defaults", r"^class SaliencySettings\b"),
    ("SmoothGrad's and VarGrad's 25 samples", r"smoothing: int = bounded\(25|smoothing\s*[:=]\s*25\b"),
    ("what can be explained: probability or logit", r"_choices\(\"ExplainedOutput"),
    ("the noise ranges", r"_choices\(\"NoiseRange"),
    ("the explain block as the Saliency trace's arguments", r"explain\.\{item\.name\}"),
    ("the trace explain.enabled turns on", r"EXPLAINED_TRACE = "),
    ("relevance mass on decoy regions", r"decoy=\"decoy_mass\""),
    ("the pointing game on decoy regions", r"decoy=\"decoy_pointing_game\""),
    ("the prefix of an explanation score's key", r"\"xai/\""),
    ("an explanation score's key, built", r"def explanation_key\b"),
    ("an explanation score's key, read", r"def explanation_parts\b"),
]


def sites(pattern):
    regex = re.compile(pattern, re.M)
    return [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
            for path in SOURCES for text in [path.read_text()] for match in regex.finditer(text)]


@pytest.mark.parametrize("rule, pattern", RULES, ids=[rule for rule, _ in RULES])
def test_each_rule_has_one_home(rule, pattern):
    found = sites(pattern)
    assert len(found) == 1, f"{rule}: {len(found)} definition sites {found}"
