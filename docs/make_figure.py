"""Regenerate docs/saliency.png, the README's saliency figure: the default experiment's last
evaluation figure, exactly as the run logged it to MLflow.

    python docs/make_figure.py [overrides...]

runs the default experiment (about a minute on 2 cores; overrides make it another one) into a
temporary store and copies the newest ``saliency/eval_epoch_<n>.png`` artifact.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent


def main(overrides):
    with tempfile.TemporaryDirectory() as home:
        subprocess.run([sys.executable, "-m", "xaiexp", *overrides], check=True,
                       env={**os.environ, "XAIEXP_HOME": home})
        figures = sorted(Path(home, "outputs", "mlartifacts").glob("*/*/artifacts/saliency/eval_epoch_*.png"))
        if not figures:
            sys.exit(f"no saliency/eval_epoch_*.png artifact under {home}/outputs/mlartifacts")
        shutil.copyfile(figures[-1], DOCS / "saliency.png")
    print(f"{DOCS / 'saliency.png'}: {figures[-1].name}, {(DOCS / 'saliency.png').stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(sys.argv[1:])
