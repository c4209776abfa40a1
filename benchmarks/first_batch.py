"""One look at a streamed folder's first batch: eager decoding vs a tf.data stream.

    python benchmarks/first_batch.py [--images 64] [--batch 8] [--rounds 6]

``Pipeline.get_results`` (which the runner calls once before training, to check the model's
outputs on a few training images) decodes a FileDataset's rows eagerly. The alternative is the
first batch of ``Pipeline.batches``, a tf.data stream built, read once and dropped. Rounds
alternate the two (and which goes first) in one process, so machine noise hits both; each time
includes dropping what was made. Reports the median seconds of each and their ratio.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image

import xaiexp as xe
from workers import print_devices  # benchmarks/workers.py
from xaiexp.dataset.data import folder
from xaiexp.op.numpyop.univariate import Normalize


def write_folder(root, count, seed=0):
    """``count`` random 64x64 PNGs, half in each of two classes."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        path = Path(root, f"class{index % 2}", f"{index}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)


def timed(look):
    start = time.perf_counter()
    batch = look()
    assert batch["x"].shape[1:] == (32, 32, 3)
    del batch
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    print_devices()
    with tempfile.TemporaryDirectory() as root:
        write_folder(root, args.images)
        train, _ = folder.load_data(root, image_size=32, eval_split=0.25)
        pipeline = xe.Pipeline(train_data=train, batch_size=args.batch,
                               ops=[Normalize(inputs="x", outputs="x", mean=0.5, std=0.25)])
        looks = {"eager (get_results)": pipeline.get_results,
                 "tf.data stream": lambda: next(pipeline.batches("train", shuffle=False))}
        times = {name: [] for name in looks}
        for round_ in range(args.rounds):
            for name in (list(looks) if round_ % 2 else list(looks)[::-1]):
                times[name].append(timed(looks[name]))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:20s} median {medians[name]:.3f} s  ({', '.join(f'{v:.3f}' for v in values)})")
    print(f"tf.data stream / eager: {medians['tf.data stream'] / medians['eager (get_results)']:.1f}x")


if __name__ == "__main__":
    main()
