"""Training throughput by precision: float32 against mixed_bfloat16 (and mixed_float16).

    python benchmarks/precision.py [--rounds 3] [--float16]

The Estimator trains LeNet (32x32x3, batch 32) with ``xe.build(..., precision=...)``; rounds
interleave the precisions so machine noise hits each, and each times the second epoch of a
fresh model (the first pays for tracing). On a GPU with tensor cores mixed precision is the
point; on a CPU, bfloat16 pays only with AMX or AVX512-BF16 instructions, and float16 is
computed in software (``--float16`` times it on a 40th of the data: it is that slow).
"""

import argparse
import statistics

import numpy as np

from train_throughput import SAMPLES, estimator_epoch
from workers import print_devices


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--float16", action="store_true", help="also time mixed_float16")
    args = parser.parse_args()
    print_devices()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, SAMPLES)
    sizes = {"float32": SAMPLES, "mixed_bfloat16": SAMPLES}
    if args.float16:
        sizes["mixed_float16"] = SAMPLES // 40
    rates = {precision: [] for precision in sizes}
    for round_ in range(args.rounds):
        order = list(sizes) if round_ % 2 == 0 else list(reversed(sizes))
        for precision in order:
            n = sizes[precision]
            rates[precision].append(n / 32 / estimator_epoch(x[:n], y[:n], 32, precision))
        print("  round " + ", ".join(f"{p} {r[-1]:.1f} steps/s" for p, r in rates.items()), flush=True)
    base = rates["float32"]
    print("median steps/s and paired ratio to float32:")
    for precision, measured in rates.items():
        ratio = statistics.median(m / b for m, b in zip(measured, base))
        print(f"  {precision:>15}: {statistics.median(measured):7.1f} steps/s  ratio {ratio:.3g}")


if __name__ == "__main__":
    main()
