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
from browser import (CHROMIUM, chromium_page, expand_run, loaded_width, mlflow_ui, next_step,
                     open_experiment, open_run, run_experiment, run_row, run_sweep, search_runs,
                     served_link, show_artifact, show_stepped_image, table_value)
from conftest import TINY

# Skipped on a developer machine without a browser; CI (.ci/run installs both) must run them.
IN_CI = bool(os.environ.get("CI"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not IN_CI and not shutil.which(CHROMIUM), reason=f"no {CHROMIUM} (apt-get install chromium)"),
]
if not IN_CI:
    pytest.importorskip("playwright", reason="pip install playwright (the test extra)")

SCREENSHOTS = Path(os.environ.get("XAIEXP_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))


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
def swept(served, store_home):
    """A tiny 2-job grid sweep into the served store (one server for the module, started once),
    one job diverging: (experiment id, the parent run, its child runs) as the server's REST API
    reports them, and the link the sweep printed."""
    experiment_id, parent_id, link = run_sweep(store_home, "schedule.init_lr=1e-3,1e6", *TINY, "epochs=1",
                                               "explain=none")
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

    assert table_value(page, "Parameter", "schedule.init_lr") == params["schedule.init_lr"] == "0.001"
    assert table_value(page, "Parameter", "model") == params["model"] == "lenet"
    for name in "train/ce", "eval/accuracy":
        assert float(table_value(page, "Metric", name)) == pytest.approx(metrics[name])


def test_artifacts_tab_previews_the_saliency_figure(page):
    image = show_artifact(page, "saliency/eval_epoch_001.png")
    assert loaded_width(image) > 0
    assert image.is_visible()


def in_sight(element, card):
    """Whether the page shows the top of ``element`` once ``card`` is in view, the card's own
    scroll area left as it opened (MLflow centres a wide figure in a square box under the run's
    params: with the whole config as params it was some 1,500 px further down)."""
    card.scroll_into_view_if_needed()
    return element.evaluate("e => { const r = e.getBoundingClientRect();"
                            " const top = document.elementFromPoint(r.x + r.width / 2, r.y + 4);"
                            " return top === e || e.contains(top); }")


def test_model_metrics_card_shows_the_maps_and_its_slider_moves_them(page):
    """The image card shows the saliency figure itself, in view (not below a paragraph of params),
    and each step of its slider shows that step's figure."""
    card, image = show_stepped_image(page, "eval/saliency")
    shown = {}
    for _ in range(2):  # TINY: two epochs, two evaluations
        step = int(card.get_by_role("slider").get_attribute("aria-valuenow"))
        assert loaded_width(image) > 0
        source = urllib.parse.unquote(image.get_attribute("src"))
        assert f"/eval~saliency+step+{step}+" in source
        shown[step] = image.evaluate("img => { const c = document.createElement('canvas');"
                                     " c.width = img.naturalWidth; c.height = img.naturalHeight;"
                                     " c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL(); }")
        assert image.bounding_box()["width"] > card.bounding_box()["width"] / 2
        assert in_sight(image, card)  # not scrolled away below the run's params in the card
        if len(shown) < 2:
            next_step(card)
    (first, second), (before, after) = sorted(shown), [shown[s] for s in sorted(shown)]
    assert first < second and before != after  # another epoch's maps, not the same picture


def test_experiment_page_shows_a_sweep_as_a_parent_run_with_its_children_under_it(served, swept, request):
    url = served[0]
    experiment_id, parent, children, _ = swept
    names = ["init_lr=1e-3", "init_lr=1e6"]
    assert parent["info"]["run_name"] == "sweep xaiexp" and parent["info"]["status"] == "FINISHED"
    assert sorted(c["info"]["run_name"] for c in children) == sorted(names)

    with screenshot_when_done(request.node.name) as page:
        open_experiment(page, url, experiment_id)
        parent_link = page.get_by_role("link", name="sweep xaiexp", exact=True)
        parent_link.wait_for()
        assert parent_link.get_attribute("href").endswith(f"/runs/{parent['info']['run_id']}")
        assert page.get_by_role("link", name=names[0], exact=True).count() == 0  # folded

        expand_run(page, "sweep xaiexp")
        top = parent_link.bounding_box()
        for name in names:
            child = run_row(page, name).get_by_role("link", name=name, exact=True)
            child.wait_for()
            assert child.is_visible()
            box = child.bounding_box()
            assert box["y"] > top["y"] and box["x"] > top["x"]  # below the parent, indented


def test_the_sweep_parent_describes_its_ranking(served, swept, request):
    """The sweep's printed link opens the parent in the training view, its description first:
    the best child, then the children ranked, the diverged one last."""
    url = served[0]
    _, parent, _, link = swept
    with screenshot_when_done(request.node.name, fresh=True) as page:
        page.goto(served_link(link, url))
        description = page.locator("div").filter(
            has=page.get_by_text("Best: init_lr=1e-3", exact=True)).filter(has=page.get_by_role("table")).last
        description.wait_for()
        assert_training_view(page)
        rows = description.get_by_role("row")
        assert rows.nth(0).get_by_role("columnheader").all_inner_texts()[:4] == [
            "rank", "run", "status", "eval/accuracy"]
        ranked = [rows.nth(i).get_by_role("cell").all_inner_texts()[:3] for i in (1, 2)]
        assert ranked == [["1", "init_lr=1e-3", "FINISHED"], ["2", "init_lr=1e6", "FAILED"]]
