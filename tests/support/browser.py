"""Drive the MLflow UI of an xaiexp store in a real browser: headless Debian Chromium via Playwright.

Shared by tests/e2e/test_browser.py and docs/make_screenshot.py, so the README's picture is taken the
same way the end-to-end test looks at the UI.
"""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.user_model import MODULE as USER_MODEL

CHROMIUM = "/usr/bin/chromium"  # Debian's package: Playwright's own browser download is not an option
# Root needs --no-sandbox; the closed network refuses Chromium's background connections, which
# otherwise slow every start. Playwright already gives each launch a fresh temporary profile.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# MLflow 3.17 opens in its GenAI layout with an assistant panel over a third of the page: ask for
# the "Model training" layout, the one xaiexp runs belong to (unknown keys are simply ignored).
TRAINING_LAYOUT = """
localStorage.setItem('mlflow.workflowType_v1', '"machine_learning"');
localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');
localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');
"""
RUN_LINE = re.compile(r"^xaiexp: run (\w+) finished in experiment (\S+) ", re.MULTILINE)
SWEEP_LINE = re.compile(r"^xaiexp: sweep (\w+) ended: ", re.MULTILINE)
LINK = re.compile(r"^xaiexp: .*open (http\S+)$", re.MULTILINE)  # the last one printed is the run's or sweep's


def run_experiment(home, *overrides):
    """Run the real CLI into the store under ``home``; return (experiment id, run id, the link it
    printed)."""
    proc = run_cli(*overrides, env={"XAIEXP_HOME": str(home)})
    found = RUN_LINE.search(proc.stderr)
    if proc.returncode or not found:
        raise RuntimeError(f"xaiexp failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return found.group(2), found.group(1), LINK.findall(proc.stderr)[-1]


def run_sweep(home, *overrides, env=None):
    """Run a multirun (``-m``) into the store under ``home`` (``env``: more environment); return
    (experiment id, the parent run's id, the parent's link) as it printed them."""
    proc = run_cli("-m", *overrides, env={"XAIEXP_HOME": str(home), **(env or {})})
    found, parent = RUN_LINE.search(proc.stderr), SWEEP_LINE.search(proc.stderr)
    if proc.returncode or not found or not parent:
        raise RuntimeError(f"xaiexp -m failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return found.group(2), parent.group(1), LINK.findall(proc.stderr)[-1]


QUICK = textwrap.dedent("""
    # @package _global_
    # a user's quick settings: their model, small data, three epochs, cheap maps scored on
    # the probes, every epoch
    defaults:
      - override /model: mine
    dataset: {n_train: 256, n_eval: 128}
    epochs: 3
    log_steps: 4
    explain: {samples: 4, smoothing: 3, integrating: [4, 2], score_samples: null, score_every: 1}
""")


def user_project(folder):
    """A user's project in ``folder``: ``mymodels.py`` and ``conf/`` with ``model=mine`` (its
    ``tiny``, a one-convolution model) and ``experiment=quick``. Returns (the conf folder, the environment that
    lets ``xaiexp`` import ``mymodels``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mymodels.py").write_text(USER_MODEL)
    for group, name, text in (("model", "mine", "_target_: mymodels.tiny\nfilters: 4\n"),
                              ("experiment", "quick", QUICK)):
        (folder / "conf" / group).mkdir(parents=True, exist_ok=True)
        (folder / "conf" / group / f"{name}.yaml").write_text(text)
    return folder / "conf", {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}


def served_link(link, url):
    """``link`` as printed (for ``xaiexp ui`` at its default address) on the server at ``url``."""
    return url + link[link.index("/#/"):]


def search_runs(url, experiment_id, filter_string=""):
    """The runs of an experiment that match ``filter_string``, from the server's REST API."""
    body = json.dumps({"experiment_ids": [experiment_id], "filter": filter_string}).encode()
    request = urllib.request.Request(f"{url}/api/2.0/mlflow/runs/search", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response).get("runs", [])


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def mlflow_ui(home, timeout=120):
    """Serve the store under ``home`` with ``xaiexp ui`` on a free port; yield (base URL, port)
    once it says "ready" (and fail if ``/health`` does not answer by then).

    The server runs in its own session so that stopping it ends the whole tree it spawns (mlflow
    server, uvicorn, job runners).
    """
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen([sys.executable, "-m", "xaiexp", "ui", "--port", str(port)],
                                  env={**os.environ, "XAIEXP_HOME": str(home)}, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, server, log, timeout)
            yield url, port
        finally:
            _stop_group(server)


def health(url):
    """The status of ``url``/health, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return answer.status
    except OSError:
        return None


def wait_healthy(url, server, log, timeout):
    """Poll ``/health`` of a plain ``mlflow server`` until it answers; fail with its output if it
    dies or is too slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        if health(url) == 200:
            return
        time.sleep(0.5)
    log.seek(0)
    raise RuntimeError(f"mlflow server at {url} did not answer in {timeout} s:\n{log.read()[-3000:]}")


def _wait_ready(url, server, log, timeout):
    """Wait for ``xaiexp ui`` to print that it is ready; fail with its output if it dies, is too
    slow, or says so before ``/health`` answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        log.seek(0)
        if "MLflow UI ready at" in log.read():
            if health(url) != 200:
                raise RuntimeError(f"xaiexp ui said ready before {url}/health answered")
            return
        time.sleep(0.25)
    log.seek(0)
    state = f"exited with {server.returncode}" if server.poll() is not None else f"silent for {timeout} s"
    raise RuntimeError(f"xaiexp ui at {url} {state}:\n{log.read()[-3000:]}")


def _stop_group(server, grace=5):
    """SIGTERM the server's process group, then SIGKILL whatever is left after ``grace`` seconds
    (``xaiexp ui`` stops its MLflow server within 20 s, or kills it: 60 s is a hang)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)
    deadline = time.monotonic() + grace
    try:
        while time.monotonic() < deadline:
            os.killpg(server.pid, 0)  # raises once the whole group is gone
            time.sleep(0.1)
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def chromium_page(width=1280, height=800, timeout_ms=30_000, fresh=False):
    """A page of a fresh headless Chromium with the training layout and the assistant panel
    closed (``fresh``: as a first-time user's browser opens MLflow); waits time out after 30 s."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.set_default_timeout(timeout_ms)
            if not fresh:
                context.add_init_script(TRAINING_LAYOUT)
            yield context.new_page()
        finally:
            browser.close()


def open_run(page, url, experiment_id, run_id):
    """Open the run's page (its Overview tab)."""
    page.goto(f"{url}/#/experiments/{experiment_id}/runs/{run_id}")
    page.get_by_role("tab", name="Overview").wait_for()


def open_experiment(page, url, experiment_id):
    """Open the experiment's page (its runs table)."""
    page.goto(f"{url}/#/experiments/{experiment_id}")
    page.get_by_role("columnheader", name="Run Name").first.wait_for()


def run_row(page, name):
    """The runs table's row of the run named ``name`` (its pinned left part: name, expander)."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


def expand_run(page, name):
    """Unfold the child runs nested under the parent run ``name`` in the experiment's runs table."""
    row = run_row(page, name)
    row.get_by_role("button").click()  # the +/- box before the name: the row's only button
    return row


def table_value(page, column, name):
    """Scroll to ``name`` in the Overview table headed ``column``; return the value shown for it."""
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name=column))
    row = table.get_by_role("row").filter(has=page.get_by_role("cell", name=name, exact=True))
    row.scroll_into_view_if_needed()
    return row.get_by_role("cell").nth(1).inner_text()


def show_artifact(page, path):
    """Select ``path`` in the Artifacts tab, unfolding its folders; return its preview <img>."""
    page.get_by_role("tab", name="Artifacts").click()
    for name in path.split("/"):
        page.locator(f'[data-testid="artifact-tree-node"][artifact-name="{name}"]').click()
    return page.locator(f'img[alt="{path}"]')


def show_stepped_image(page, key):
    """The image card ``key`` of the Model metrics tab, as it opens (MLflow opens every image card
    at step 0, where xaiexp logs the first figure); return (the card, its <img>)."""
    page.get_by_role("tab", name="Model metrics").click()
    card = page.get_by_test_id("experiment-view-compare-runs-card").filter(
        has=page.get_by_role("heading", name=key, exact=True))
    card.scroll_into_view_if_needed()
    return card, card.locator("img")


def expand_card(card):
    """Open the card's expanded view (its first button); return the dialog."""
    card.get_by_role("button").first.click()
    return card.page.get_by_role("dialog").first


def step_of(card):
    """The step an image card (or its expanded view) shows."""
    return int(card.get_by_role("slider").get_attribute("aria-valuenow"))


def next_step(card, key="ArrowRight"):
    """Move the image card's step slider to the next logged step (``ArrowLeft``: the one before);
    return that step."""
    slider = card.get_by_role("slider")
    before = slider.get_attribute("aria-valuenow")
    slider.press(key)
    card.page.wait_for_function("([s, v]) => s.getAttribute('aria-valuenow') !== v",
                                arg=[slider.element_handle(), before])
    return int(slider.get_attribute("aria-valuenow"))


def shown_whole(element):
    """Whether all of ``element`` is in view: inside the box of every ancestor that clips or
    scrolls its content (a card's image area, a dialog), inside the window, and not covered."""
    return element.evaluate("""e => {
        const r = e.getBoundingClientRect();
        for (let a = e.parentElement; a; a = a.parentElement) {
            const style = getComputedStyle(a);
            if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
            const c = a.getBoundingClientRect();
            if (r.top < c.top - 0.5 || r.bottom > c.bottom + 0.5 || r.left < c.left - 0.5 || r.right > c.right + 0.5)
                return false;
        }
        const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return r.bottom <= window.innerHeight && r.right <= window.innerWidth && (top === e || e.contains(top));
    }""")


def loaded_width(image):
    """Wait for ``image`` to be decoded and return its natural width (an error if it is broken)."""
    return image.evaluate("img => img.decode().then(() => img.naturalWidth)")
