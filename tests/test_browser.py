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
from browser import (CHROMIUM, chromium_page, expand_run, loaded_width, mlflow_ui, open_experiment,
                     open_run, run_experiment, run_row, run_sweep, search_runs, show_artifact,
                     show_stepped_image, table_value)
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
    """A tiny run in a fresh store, and ``xaiexp ui`` serving it: (base URL, port, exp id, run id)."""
    experiment_id, run_id = run_experiment(store_home, *TINY)
    with mlflow_ui(store_home) as (url, port):
        yield url, port, experiment_id, run_id


@pytest.fixture(scope="module")
def swept(served, store_home):
    """A tiny 2-job grid sweep into the served store (one server for the module, started once):
    (experiment id, the parent run, its child runs) as the server's REST API reports them."""
    experiment_id = run_sweep(store_home, "schedule.init_lr=1e-3,3e-4", *TINY, "epochs=1", "explain=none")
    (parent,) = search_runs(served[0], experiment_id, "tags.`xaiexp.sweep` = 'true'")
    children = search_runs(served[0], experiment_id,
                           f"tags.`mlflow.parentRunId` = '{parent['info']['run_id']}'")
    return experiment_id, parent, children


@contextlib.contextmanager
def screenshot_when_done(name):
    """A Chromium page; a screenshot of where the test left it is saved, pass or fail."""
    with chromium_page() as page:
        try:
            yield page
        finally:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"{name}.png")


@pytest.fixture
def page(served, request):
    """The run's page in Chromium; a screenshot of where the test left it is saved, pass or fail."""
    url, _, experiment_id, run_id = served
    with screenshot_when_done(request.node.name) as page:
        open_run(page, url, experiment_id, run_id)
        yield page


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


def test_overview_shows_the_runs_metrics_and_params(served, page):
    url, _, _, run_id = served
    with urllib.request.urlopen(f"{url}/api/2.0/mlflow/runs/get?run_id={run_id}") as response:
        data = json.load(response)["run"]["data"]
    metrics = {m["key"]: m["value"] for m in data["metrics"]}
    params = {p["key"]: p["value"] for p in data["params"]}

    assert table_value(page, "Parameter", "schedule.init_lr") == params["schedule.init_lr"] == "0.001"
    for name in "train/ce", "eval/accuracy":
        assert float(table_value(page, "Metric", name)) == pytest.approx(metrics[name])


def test_artifacts_tab_previews_the_saliency_figure(page):
    image = show_artifact(page, "saliency/eval_epoch_001.png")
    assert loaded_width(image) > 0
    assert image.is_visible()


def test_model_metrics_tab_shows_the_stepped_saliency_image(page):
    card, image = show_stepped_image(page, "eval/saliency")
    assert loaded_width(image) > 0
    step = card.get_by_role("slider").get_attribute("aria-valuenow")
    assert f"/eval~saliency+step+{step}+" in urllib.parse.unquote(image.get_attribute("src"))
    image.scroll_into_view_if_needed()  # below the run's params, in the card's own scroll area
    assert image.is_visible()


def test_experiment_page_shows_a_sweep_as_a_parent_run_with_its_children_under_it(served, swept, request):
    url = served[0]
    experiment_id, parent, children = swept
    names = ["schedule.init_lr=0.001", "schedule.init_lr=0.0003"]
    assert parent["info"]["run_name"] == "sweep xaiexp"
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
