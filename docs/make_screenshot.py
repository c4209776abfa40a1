"""Regenerate the README's pictures of xaiexp in the MLflow UI:

- docs/mlflow_ui.png: a run's last evaluation saliency figure, in the Artifacts tab;
- docs/mlflow_card.png: the Model metrics tab, its ``eval/saliency`` card (the maps' strip) at the
  last step;
- docs/mlflow_sweep.png: a sweep's parent run, its description ranking the children.

    python docs/make_screenshot.py [overrides...]

runs the default experiment (under a minute on 2 cores; overrides make it another one) and a
small grid sweep (one of its learning rates diverges) into a temporary store, serves it with
``xaiexp ui`` and photographs the pages in headless Chromium, each opened from the link xaiexp
printed. Needs what tests/e2e/test_browser.py needs: Debian's /usr/bin/chromium and
``pip install playwright``.
"""

import io
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

from PIL import Image

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # tests.support: the browser helpers the end-to-end test uses

from tests.support.browser import (chromium_page, loaded_width, mlflow_ui, next_step,  # noqa: E402
                                   run_experiment, run_sweep, served_link, show_artifact,
                                   show_stepped_image)

# a small sweep: three learning rates (the last diverges), two epochs, cheaper saliency maps
SWEEP = ["schedule.init_lr=1e-3,3e-4,1e6", "epochs=2", "dataset.n_train=512", "explain.samples=4",
         "explain.smoothing=5", "explain.integrating=[8,2]"]


def last_eval_figure(url, run_id):
    """The artifact path of the run's last ``saliency/eval_*.png``, asked of the server's REST API."""
    query = f"{url}/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=saliency"
    with urllib.request.urlopen(query) as response:
        files = json.load(response)["files"]
    return max(f["path"] for f in files if Path(f["path"]).name.startswith("eval_"))


def save(page, name, clip=None):
    """A screenshot of ``page`` as docs/<name>: 256 colours without dithering (the UI is flat and
    the figure a colormap; a third of the bytes)."""
    shot = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")
    path = DOCS / name
    shot.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"{path}: {path.stat().st_size // 1024} KB")


def photograph_run(page, url, run_id, link):
    """The run's last eval figure in Artifacts, then its Model metrics card at the last step."""
    page.goto(served_link(link, url))
    figure = last_eval_figure(url, run_id)
    loaded_width(show_artifact(page, figure))  # waits until the figure is drawn
    save(page, "mlflow_ui.png")
    card, image = show_stepped_image(page, "eval/saliency")
    while card.get_by_role("slider").get_attribute("aria-valuenow") != card.get_by_role(
            "slider").get_attribute("aria-valuemax"):
        next_step(card)
    loaded_width(image)
    wait_drawn(page)
    box = card.bounding_box()
    margin = 24
    save(page, "mlflow_card.png", clip={"x": 0, "y": 0, "width": box["x"] + box["width"] + margin,
                                        "height": box["y"] + box["height"] + margin})


def wait_drawn(page):
    """Wait until no chart in view shows MLflow's loading spinner (its design system's class)."""
    page.wait_for_function("""() => ![...document.querySelectorAll('.du-bois-light-spin-spinning')].some(e => {
        const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < window.innerHeight; })""")


def photograph_sweep(page, url, link):
    """The sweep's parent run, its description (the ranking) unfolded."""
    page.goto(served_link(link, url))
    page.get_by_text("Show more", exact=True).click()
    page.get_by_role("cell", name="FAILED", exact=True).wait_for()  # the last row of the ranking
    page.get_by_role("link", name="init_lr=1e6", exact=True).first.wait_for()  # the child runs listed
    save(page, "mlflow_sweep.png")


def main(overrides):
    with tempfile.TemporaryDirectory() as home:
        _, run_id, link = run_experiment(home, *overrides)
        _, _, sweep_link = run_sweep(home, *SWEEP)
        with mlflow_ui(home) as (url, _), chromium_page(width=1280, height=800) as page:
            photograph_run(page, url, run_id, link)
            photograph_sweep(page, url, sweep_link)


if __name__ == "__main__":
    main(sys.argv[1:])
