"""End to end in a real browser: a CLI run, served by ``xaiexp ui``, seen in headless Chromium.

Screenshots of each test's final page go to $XAIEXP_TEST_ARTIFACTS (default tests/artifacts/).
"""

import contextlib
import json
import os
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from tests.support import ROOT
from tests.support.browser import (CHROMIUM, chromium_page, expand_card, expand_run, loaded_width, mlflow_ui, next_step,
                     open_experiment, open_run, run_experiment, run_row, run_sweep, search_runs,
                     served_link, show_artifact, show_stepped_image, shown_whole, step_of, table_value,
                     user_project)
from tests.support.cli import TINY

# Skipped on a developer machine without a browser; CI (.ci/run installs both) must run them.
IN_CI = bool(os.environ.get("CI"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not IN_CI and not shutil.which(CHROMIUM), reason=f"no {CHROMIUM} (apt-get install chromium)"),
]
if not IN_CI:
    pytest.importorskip("playwright", reason="pip install playwright (the test extra)")

SCREENSHOTS = Path(os.environ.get("XAIEXP_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))


@pytest.fixture(scope="module")
def store_home(tmp_path_factory):
    """A fresh XAIEXP_HOME shared by this module's runs and its ``xaiexp ui``."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def served(store_home):
    """A tiny run in a fresh store, and ``xaiexp ui`` serving it: (base URL, port, exp id, run id,
    the link the run printed)."""
    experiment_id, run_id, link = run_experiment(store_home, *TINY)
    with mlflow_ui(store_home) as (url, port):
        yield url, port, experiment_id, run_id, link


@pytest.fixture(scope="module")
def swept(served, store_home, tmp_path_factory):
    """A user's 2-job grid sweep into the served store (one server for the module, started once):
    their own model and quick settings (``tests/support/browser.py``, ``user_project``), 3 epochs, two
    learning rates: (experiment id, the parent run, its child runs) as the server's REST API
    reports them, and the link the sweep printed."""
    conf, env = user_project(tmp_path_factory.mktemp("project"))
    experiment_id, parent_id, link = run_sweep(store_home, "--config-dir", str(conf), "experiment=quick",
                                               "schedule.init_lr=1e-3,3e-3", env=env)
    (parent,) = search_runs(served[0], experiment_id, "tags.`xaiexp.sweep` = 'true'")
    assert parent["info"]["run_id"] == parent_id
    children = search_runs(served[0], experiment_id, f"tags.`mlflow.parentRunId` = '{parent_id}'")
    return experiment_id, parent, children, link


@contextlib.contextmanager
def screenshot_when_done(name, **page_options):
    """A Chromium page; a screenshot of where the test left it is saved, pass or fail."""
    with chromium_page(**page_options) as page:
        try:
            yield page
        finally:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"{name}.png")


@pytest.fixture
def page(served, request):
    """The run's page in Chromium; a screenshot of where the test left it is saved, pass or fail."""
    url, _, experiment_id, run_id, _ = served
    with screenshot_when_done(request.node.name) as page:
        open_run(page, url, experiment_id, run_id)
        yield page


def assert_training_view(page):
    """The page is in MLflow's "Model training" layout (its side bar lists Runs), not the GenAI
    one (Evaluation runs, Traces, Sessions ...) that MLflow 3.17 opens by default."""
    navigation = page.get_by_role("navigation").first
    navigation.get_by_role("link", name="Runs", exact=True).wait_for()
    assert navigation.get_by_role("link", name="Evaluation runs").count() == 0


def listening_addresses(port):
    """Local addresses of the sockets listening on ``port``, as /proc/net/tcp{,6} spell them."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                addresses.add(address)
    return addresses


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net")
def test_ui_listens_on_loopback_only(served):
    assert listening_addresses(served[1]) == {"0100007F"}  # 127.0.0.1


def test_the_printed_link_opens_the_run_as_a_training_run(served, request):
    url, _, experiment_id, run_id, link = served
    assert link == (f"http://127.0.0.1:5000/#/experiments/{experiment_id}/runs/{run_id}"
                    f"?workflowType=machine_learning")  # `xaiexp ui`'s default address
    with screenshot_when_done(request.node.name, fresh=True) as page:  # no layout chosen before
        page.goto(served_link(link, url))
        page.get_by_role("tab", name="Overview").wait_for()
        page.get_by_text(run_id, exact=True).wait_for()
        assert_training_view(page)


def test_overview_shows_the_runs_metrics_and_params(served, page):
    url, _, _, run_id, _ = served
    with urllib.request.urlopen(f"{url}/api/2.0/mlflow/runs/get?run_id={run_id}") as response:
        data = json.load(response)["run"]["data"]
    metrics = {m["key"]: m["value"] for m in data["metrics"]}
    params = {p["key"]: p["value"] for p in data["params"]}

    assert params == {override.split("=")[0]: override.split("=")[1].replace(",", ", ") for override in TINY}
    assert table_value(page, "Parameter", "epochs") == "2"
    assert table_value(page, "Parameter", "explain.integrating") == "[4, 2]"
    for name in "train/ce", "eval/accuracy":
        assert float(table_value(page, "Metric", name)) == pytest.approx(metrics[name])


def test_artifacts_tab_previews_the_saliency_figure(page):
    image = show_artifact(page, "saliency/eval_epoch_001.png")
    assert loaded_width(image) > 0
    assert image.is_visible()


def finished_child(swept):
    """(experiment id, run id) of the sweep's child ``init_lr=1e-3``."""
    experiment_id, _, children, _ = swept
    (child,) = [c for c in children if c["info"]["run_name"] == "init_lr=1e-3"]
    return experiment_id, child["info"]["run_id"]


def pixels(image):
    """The decoded picture of an <img>, as a data URL."""
    return image.evaluate("img => { const c = document.createElement('canvas');"
                          " c.width = img.naturalWidth; c.height = img.naturalHeight;"
                          " c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL(); }")


def walk_steps(view, image):
    """{step: picture} at every step of an image card or its expanded view, from its first step
    (where it opens) to its last, each checked to be shown whole."""
    shown, slider = {}, view.get_by_role("slider")
    while True:
        step = step_of(view)
        assert loaded_width(image) > 0
        assert shown_whole(image), f"step {step}: the picture is not all in view"
        shown[step] = pixels(image)
        if slider.get_attribute("aria-valuenow") == slider.get_attribute("aria-valuemax"):
            return shown
        next_step(view)


def test_the_image_card_and_its_expanded_view_show_the_whole_strip_at_every_step(served, swept, request):
    """The eval/saliency card of a user's sweep child opens on the first epoch's maps (MLflow
    opens image cards at step 0, where xaiexp logs the first figure), and shows the whole strip
    at the first, the middle and the last step, as does its expanded view; each step is another
    epoch's picture."""
    experiment_id, run_id = finished_child(swept)
    with screenshot_when_done(request.node.name) as page:
        open_run(page, served[0], experiment_id, run_id)
        card, image = show_stepped_image(page, "eval/saliency")
        in_card = walk_steps(card, image)
        assert sorted(in_card) == [0, 16, 24]  # epoch 1 at step 0, then epochs 2 and 3 at their steps
        assert len(set(in_card.values())) == 3  # three epochs' maps
        width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert width >= 4 * height  # a strip: MLflow's 256-pixel thumbnail stays low in the card
        while step_of(card) > 0:
            next_step(card, "ArrowLeft")
        dialog = expand_card(card)
        expanded = walk_steps(dialog, dialog.locator("img"))
        assert sorted(expanded) == [0, 16, 24]


def test_the_per_image_scores_preview_as_a_table(served, swept, request):
    """The Saliency trace's per-image scores, one row per image, preview as a table in the
    Artifacts tab (saliency_scores/<mode>_epoch_<n>.csv beside the .npz the report reads)."""
    experiment_id, run_id = finished_child(swept)
    with screenshot_when_done(request.node.name) as page:
        open_run(page, served[0], experiment_id, run_id)
        show_artifact(page, "saliency_scores/eval_epoch_003.csv")
        page.get_by_text("Previewing the first 4 rows", exact=True).wait_for()  # experiment=quick: 4 probes
        headers = [text.strip() for text in page.get_by_role("columnheader").all_inner_texts()]
        assert headers[:3] == ["image_id", "saliency/relevance_mass", "saliency/pointing_game"]
        rows = [cells for row in page.get_by_role("row").all() if (cells := row.get_by_role("cell").all_inner_texts())]
        assert len(rows) == 4 and all(len(cells) == len(headers) for cells in rows)
        assert len(rows[0][0]) == 16 and 0 <= float(rows[0][1]) <= 1  # an image's id, its relevance mass


def test_experiment_page_shows_a_sweep_as_a_parent_run_with_its_children_under_it(served, swept, request):
    url = served[0]
    experiment_id, parent, children, _ = swept
    names = ["init_lr=1e-3", "init_lr=3e-3"]  # a child by its swept values, its parent by the rest
    sweep = "sweep mine · shapes · experiment=quick"
    assert parent["info"]["run_name"] == sweep and parent["info"]["status"] == "FINISHED"
    assert sorted(c["info"]["run_name"] for c in children) == sorted(names)

    with screenshot_when_done(request.node.name) as page:
        open_experiment(page, url, experiment_id)
        parent_link = page.get_by_role("link", name=sweep, exact=True)
        parent_link.wait_for()
        assert parent_link.get_attribute("href").endswith(f"/runs/{parent['info']['run_id']}")
        assert page.get_by_role("link", name=names[0], exact=True).count() == 0  # folded

        expand_run(page, sweep)
        top = parent_link.bounding_box()
        for name in names:
            child = run_row(page, name).get_by_role("link", name=name, exact=True)
            child.wait_for()
            assert child.is_visible()
            box = child.bounding_box()
            assert box["y"] > top["y"] and box["x"] > top["x"]  # below the parent, indented


def test_the_sweep_parent_describes_its_ranking(served, swept, request):
    """The sweep's printed link opens the parent in the training view, its description first:
    the best child (the parent's xaiexp.best_child_name: one rule for both), then the children
    ranked by eval accuracy."""
    url = served[0]
    _, parent, children, link = swept
    tags = {tag["key"]: tag["value"] for tag in parent["data"]["tags"]}
    accuracy = {c["info"]["run_name"]: {m["key"]: m["value"] for m in c["data"]["metrics"]}["eval/accuracy"]
                for c in children}
    best = tags["xaiexp.best_child_name"]
    assert accuracy[best] == max(accuracy.values())
    with screenshot_when_done(request.node.name, fresh=True) as page:
        page.goto(served_link(link, url))
        description = page.locator("div").filter(
            has=page.get_by_text(f"Best: {best}", exact=True)).filter(has=page.get_by_role("table")).last
        description.wait_for()
        assert_training_view(page)
        rows = description.get_by_role("row")
        assert rows.nth(0).get_by_role("columnheader").all_inner_texts()[:4] == [
            "rank", "run", "status", "eval/accuracy"]
        ranked = [rows.nth(i).get_by_role("cell").all_inner_texts()[:3] for i in (1, 2)]
        assert ranked[0] == ["1", best, "FINISHED"] and ranked[1][0] == "2" and ranked[1][2] == "FINISHED"
