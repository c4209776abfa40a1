"""Traces composed from config: a dict of _target_ entries, like Lightning's callbacks."""

from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Union, get_args, get_origin, get_type_hints

import mlflow
import pytest

from tests.support.cli import TINY, run_cli
from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, error_line
from xaiexp.app.config.schema import ExplainConfig
from xaiexp.app.config.targets import signature


def quick_trace(**changes):
    """The override that adds a second, cheap Saliency trace ``quick``, with ``changes``."""
    arguments = {"model_inputs": "x", "model_outputs": "y_pred", "class_key": "y", "outputs": "quick",
                 "methods": "[vanilla,integrated]", "integrating": "[3]", "samples": 2,
                 "metrics": "[relevance_mass]", **changes}
    listed = ",".join(f"{key}:{value}" for key, value in arguments.items() if value is not None)
    return f"+traces.quick={{_target_:xaiexp.trace.xai.Saliency,{listed}}}"


QUICK = quick_trace()


def test_the_default_traces_are_written_out_in_order():
    cfg = compose_config([])
    assert list(cfg.traces) == ["accuracy", "best_model_saver", "lr_scheduler", "saliency", "shortcut",
                                "mlflow"]
    assert cfg.traces.saliency.samples == cfg.explain.samples == 5  # explain: the short form
    assert compose_config(["explain.samples=8"]).traces.saliency.samples == 8


@pytest.mark.parametrize("overrides, entries", [
    (["traces=[default,tensorboard]"], ["accuracy", "best_model_saver", "lr_scheduler", "saliency",
                                        "shortcut", "mlflow", "tensorboard"]),
    (["~traces.saliency"], ["accuracy", "best_model_saver", "lr_scheduler", "shortcut", "mlflow"]),
    ([QUICK], ["accuracy", "best_model_saver", "lr_scheduler", "saliency", "shortcut", "mlflow",
               "quick"]),
])
def test_entries_are_added_and_removed_from_the_command_line(overrides, entries):
    assert list(compose_config(overrides).traces) == entries


@pytest.mark.parametrize("override, message", [
    ("traces.accuracy.pred_keyy=y", "traces.accuracy.pred_keyy: unknown key (did you mean pred_key?)"),
    ("+traces.mine={_target_:mytraces.Mine}", "traces.mine._target_: cannot find mytraces.Mine: no "
                                              "module named 'mytraces'"),
    (QUICK.replace("methods:", "methodz:"), "traces.quick.methodz: not an argument of "
                                            "xaiexp.trace.xai.Saliency (did you mean methods?)"),
    ("traces=[default,tensorbord]", "traces=tensorbord: no such option"),
])
def test_a_bad_trace_entry_is_named_before_tensorflow(override, message):
    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config([override])
    assert message in error_line(error.value)


def refused_values(schema):
    """(field, a value the field's bounds or choices refuse) for each such field of ``schema``,
    read from the schema itself, so fields added later are covered too."""
    for item in fields(schema):
        hint = get_type_hints(schema)[item.name]
        if get_origin(hint) is Union:  # Optional[X]
            hint = next(arg for arg in get_args(hint) if arg is not type(None))
        bounds = item.metadata
        if "minimum" in bounds or "above" in bounds:
            yield item.name, bounds.get("minimum", bounds.get("above")) - 1
        elif isinstance(hint, type) and issubclass(hint, Enum):
            yield item.name, "no_such_choice"
        elif get_args(hint) == (str,):  # a list of registry names: methods, metrics
            yield item.name, "[no_such_name]"


SALIENCY = signature("xaiexp.trace.xai.Saliency").names
SHORT_FORMS = [(name, value) for name, value in refused_values(ExplainConfig) if name in SALIENCY]


def test_every_short_form_with_a_rule_is_covered():
    assert len(SHORT_FORMS) >= 10 and {"samples", "every", "methods", "output"} <= dict(SHORT_FORMS).keys()


@pytest.mark.parametrize("name, value", SHORT_FORMS, ids=[name for name, _ in SHORT_FORMS])
def test_a_trace_key_is_refused_as_its_explain_short_form_is(name, value):
    """traces.saliency.samples=-5 was accepted (a run without saliency) while explain.samples=-5
    was refused; so was any other bounded or chosen argument of a Saliency trace."""
    messages = []
    for key in (f"explain.{name}", f"traces.saliency.{name}", f"traces.quick.{name}"):
        override = quick_trace(**{name: value}) if key.startswith("traces.quick") else f"{key}={value}"
        with pytest.raises(COMPOSITION_ERRORS) as error:
            compose_config([override])
        line = error_line(error.value)
        assert line.startswith(f"{key}: "), line
        messages.append(line.removeprefix(f"{key}: "))
    assert messages[0] == messages[1] == messages[2]


def test_a_trace_without_methods_is_checked_with_the_methods_it_would_choose():
    """Saliency without ``methods`` shows the default methods its settings allow (no SmoothGrad
    with smoothing 0), so that is no conflict; naming SmoothGrad is."""
    assert compose_config([quick_trace(methods=None, smoothing=0, integrating=0)]).traces.quick.smoothing == 0
    with pytest.raises(COMPOSITION_ERRORS) as error:
        compose_config([quick_trace(methods="[smoothgrad]", smoothing=0)])
    assert error_line(error.value) == ("traces.quick.smoothing: must be >= 1 while traces.quick.methods has "
                                       "smoothgrad, got 0; raise it or remove smoothgrad from "
                                       "traces.quick.methods")


def runs(home):
    client = mlflow.MlflowClient(f"sqlite:///{home}/outputs/mlflow.db")
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    return client, client.search_runs([experiment.experiment_id])


@pytest.mark.slow
def test_two_saliency_traces_and_tensorboard_from_the_command_line(home):
    """A cheap trace every epoch and the default one at the end only (TINY: 2 epochs of 8 steps)."""
    result = run_cli(*TINY, "traces=[default,tensorboard]", QUICK, "traces.saliency.every=2")
    assert result.returncode == 0, result.stderr[-3000:]
    client, (run,) = runs(home)
    metrics = run.data.metrics
    assert {"eval/xai/quick/relevance_mass", "eval/xai/integrated_quick/relevance_mass",
            "eval/xai/saliency/relevance_mass", "eval/xai/smint_saliency/relevance_mass"} <= set(metrics)

    def steps(key):
        return [m.step for m in client.get_metric_history(run.info.run_id, key)]

    assert steps("eval/xai/quick/relevance_mass") == [8, 16]
    assert steps("eval/xai/smint_saliency/relevance_mass") == [16]
    figures = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"quick", "saliency"} <= figures
    events = list(Path(run.data.tags["xaiexp.output_dir"], "tensorboard").rglob("events.out.tfevents.*"))
    assert {p.parent.name for p in events} >= {"train", "eval", "test"}


@pytest.mark.slow
def test_one_override_removes_the_saliency_trace_and_a_typo_fails_before_any_run(home):
    result = run_cli(*TINY, "traces.accuracy.pred_key=y_predd")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and lines[-1].startswith(
        "xaiexp: error: traces.accuracy: Accuracy reads 'y_predd', which nothing writes"), result.stderr
    assert not (home / "outputs" / "mlflow.db").exists()
    result = run_cli(*TINY, "~traces.saliency")
    assert result.returncode == 0, result.stderr[-3000:]
    _, (run,) = runs(home)
    assert "eval/accuracy" in run.data.metrics
    assert not [key for key in run.data.metrics if "/xai/" in key]
