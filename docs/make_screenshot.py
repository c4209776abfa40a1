"""Regenerate docs/mlflow_ui.png, the README's picture of an xaiexp run in the MLflow UI.

    python docs/make_screenshot.py [overrides...]

runs the default experiment (under a minute on 2 cores; overrides make it another one) into a
temporary store, serves it with ``xaiexp ui`` and photographs the run's last evaluation
saliency figure in headless Chromium. Needs what tests/test_browser.py needs: Debian's
/usr/bin/chromium and ``pip install playwright``.
"""

import io
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

from PIL import Image

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests"))  # the browser helpers the end-to-end test uses

from browser import (chromium_page, loaded_width, mlflow_ui, open_run,  # noqa: E402
                     run_experiment, show_artifact)


def last_eval_figure(url, run_id):
    """The artifact path of the run's last ``saliency/eval_*.png``, asked of the server's REST API."""
    query = f"{url}/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=saliency"
    with urllib.request.urlopen(query) as response:
        files = json.load(response)["files"]
    return max(f["path"] for f in files if Path(f["path"]).name.startswith("eval_"))


def main(overrides):
    with tempfile.TemporaryDirectory() as home:
        experiment_id, run_id = run_experiment(home, *overrides)
        with mlflow_ui(home) as (url, _), chromium_page() as page:
            open_run(page, url, experiment_id, run_id)
            figure = last_eval_figure(url, run_id)
            loaded_width(show_artifact(page, figure))  # waits until the figure is drawn
            shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    # 256 colours without dithering: the UI is flat and the figure a colormap; a third of the bytes.
    shot.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        DOCS / "mlflow_ui.png", optimize=True)
    print(f"{DOCS / 'mlflow_ui.png'}: {figure} of run {run_id}, "
          f"{(DOCS / 'mlflow_ui.png').stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(sys.argv[1:])
