"""Training throughput from a streamed image folder vs the same images held in memory.

    python benchmarks/folder_streaming.py [--images 2000] [--size 64] [--rounds 3]

Writes ``--images`` JPEGs of 100-300 px (two classes) to a temporary folder, loads it with
``folder.load_data`` (a FileDataset: every batch read, decoded and resized by tf.data) and, for
comparison, decodes the same images once into a NumpyDataset. The same LeNet, batch size and
Normalize op train on both. Rounds alternate the two (and which goes first) so machine noise hits both; each times the
second and third epochs of a fresh model (the first pays for tracing). The bar: streamed >= 0.9 x
in-memory images/s. Also reports what ``inspect``'s decoding check costs per 1000 images.
"""

import argparse
import contextlib
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

BATCH = 32


def write_folder(root, count, seed=0):
    """``count`` smooth random JPEGs of 100-300 px per side, half in each of two classes."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        label = index % 2
        height, width = rng.integers(100, 301, 2)
        coarse = rng.integers(0, 256, (height // 10 + 1, width // 10 + 1, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((int(width), int(height)), Image.BILINEAR)
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        image.save(root / str(label) / f"{index:05d}.jpg", quality=90)


def throughput(train, size):
    """(images/s, CPU ms per image) over epochs 2 and 3 of a fresh LeNet trained on ``train``."""
    from xaiexp.architecture.tensorflow import LeNet
    from xaiexp.op.numpyop.univariate import Normalize
    from xaiexp.op.tensorop.loss import CrossEntropy
    from xaiexp.op.tensorop.model import ModelOp, UpdateOp
    from xaiexp.trace import Trace

    class Timer(Trace):
        def __init__(self):
            super().__init__(mode="train")
            self.times = []

        def on_epoch_begin(self, data):
            self.start = time.perf_counter(), time.process_time()

        def on_epoch_end(self, data):
            self.times.append((time.perf_counter() - self.start[0], time.process_time() - self.start[1]))

    model = xe.build(lambda: LeNet(input_shape=(size, size, 3), classes=2), "adam")
    network = xe.Network([ModelOp(model=model, inputs="x", outputs="y_pred"),
                          CrossEntropy(inputs=("y_pred", "y"), outputs="ce"),
                          UpdateOp(model=model, loss_name="ce")])
    pipeline = xe.Pipeline(train_data=train, batch_size=BATCH, seed=0,
                           ops=[Normalize(inputs="x", outputs="x", mean=0.5, std=0.25)])
    timer = Timer()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        xe.Estimator(pipeline, network, epochs=3, traces=[timer], log_steps=0).fit()
    wall, cpu = (sum(column) for column in zip(*timer.times[1:]))
    return 2 * len(train) / wall, 1000 * cpu / (2 * len(train))


def in_memory(streamed):
    """The streamed dataset's images, decoded once (by the same code) into a NumpyDataset."""
    pipeline = xe.Pipeline(train_data=streamed, batch_size=256)
    batches = list(pipeline.batches("train", shuffle=False))
    return xe.dataset.NumpyDataset({key: np.concatenate([b[key] for b in batches]) for key in streamed.keys},
                                   streamed.label_mapping)


def check_cost(root, size, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        folder.inspect(root, image_size=size)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print_devices()
    print(f"{args.images} JPEGs of 100-300 px -> {args.size}x{args.size}, LeNet, batch {BATCH}")
    with tempfile.TemporaryDirectory(prefix="xaiexp-folder-bench-") as tmp:
        root = Path(tmp)
        write_folder(root, args.images)
        seconds = check_cost(root, args.size, args.rounds)
        print(f"inspect (scan + Pillow verify/decode of every file): {seconds:.2f} s = "
              f"{1000 * seconds / args.images:.2f} s per 1000 images")
        streamed = folder.load_data(root, image_size=args.size, eval_split=1)[0]
        memory = in_memory(streamed)
        rows = []
        for round_ in range(args.rounds):  # alternate which goes first
            first, second = (streamed, memory) if round_ % 2 == 0 else (memory, streamed)
            rates = {id(data): throughput(data, args.size) for data in (first, second)}
            rows.append((rates[id(streamed)], rates[id(memory)]))
            (rate, cpu), (memory_rate, memory_cpu) = rows[-1]
            print(f"  round {round_ + 1}: streamed {rate:.0f} images/s ({cpu:.2f} CPU ms/image), "
                  f"in memory {memory_rate:.0f} images/s ({memory_cpu:.2f}), ratio {rate / memory_rate:.3f}")
    ratios = [streamed[0] / memory[0] for streamed, memory in rows]
    cpu = [memory[1] / streamed[1] for streamed, memory in rows]
    print(f"streamed / in-memory training images/s: median ratio {statistics.median(ratios):.3f} (bar >= 0.9); "
          f"streamed {statistics.median(r[0][0] for r in rows):.0f}/s, "
          f"in memory {statistics.median(r[1][0] for r in rows):.0f}/s; CPU time per image, "
          f"in-memory / streamed: {statistics.median(cpu):.3f} (the ratio a fully busy machine would see)")

if __name__ == "__main__":
    main()
