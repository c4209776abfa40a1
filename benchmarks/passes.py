"""Map error against gradient passes: FastEstimator's sampling of SmoothGrad, Integrated
Gradients, SmInt and VarGrad against quadrature rules, variance-reduced draws and k baselines.

For each model, each method's high-sample REFERENCE is computed once per image (plain random
draws, the midpoint Riemann rule: neither FastEstimator's scheme nor the new one):
SmoothGrad and VarGrad over ``--reference-draws`` noisy copies, IG as the mean over
``--reference-baselines`` uniform baselines of ``--reference-steps`` steps each (the expected-
gradients target that k baselines estimate; one random baseline is one sample of it), SmInt
over ``--reference-draws`` // 4 noisy paths of 8 steps. Every scheme's maps are then compared
with it, image by image, as the metrics see them: the relevance |attribution| summed over the
colour channels. Two distances, averaged over images and ``--seeds`` seeds:

- L2: ‖r/‖r‖ − r_ref/‖r_ref‖‖, the scale-free Euclidean distance (0 = same map, √2 = disjoint);
  it weighs the bright pixels that relevance mass and the pointing game read;
- 1 − ρ: one minus Spearman's rank correlation, over all pixels, as deletion/insertion order them.

A scheme is "as close as FastEstimator's" when both mean distances are at most those of
FastEstimator's settings (SmoothGrad 25, IG 100 linspace steps from one uniform baseline, SmInt
6 × 100). The new defaults are, per method, the cheapest such scheme of the grid among those
with the new rule and sampling on every model measured; passes are the engine's gradient rows
per image (the clean gradient that vanilla, SmoothGrad and SmInt share counted once).

Models: the default experiment's LeNet (``--model`` a .keras a default ``xaiexp`` run logged;
without it the benchmark trains one with ``python -m xaiexp explain=none tracking=none``) on
``--images`` eval images of ``shapes``, normalized as the default pipeline does; and
MobileNetV2 at 224 × 224 (``--mobilenet-images``, random-initialized and trained briefly on
``shapes`` at 224 px here, ``--mobilenet-steps``: ImageNet weights cannot be downloaded on this
machine; an untrained MobileNetV2's logits are constant to 1e-12), with smaller
references (``--mobilenet-reference``) and a smaller grid (``mobilenet_grid``). Both explain the
logit with each image's own value range (the default experiment's settings).

IG's schemes also report their completeness error (median over images), which must be within
5 % (above it, Vertex Explainable AI's documentation advises more steps; FastEstimator's 100
linspace steps reach about 0.5 % on LeNet), or within FastEstimator's where that is larger, for
a scheme to count as close: on maps alone, two baselines of two Gauss–Legendre nodes would do,
with a completeness error of 30 %. Those with a ``tolerance`` refine their steps image by image
(their passes are the measured mean). Also: the seconds per image of the four default methods at
the old and the new settings, through ``MethodSet`` as the Saliency trace runs them, alternating
repetitions in one process.

The whole run took 24½ minutes on 2 shared cores (LeNet's part about 10; the MobileNetV2 part is
kept that short by its 6 images, one seed, smaller references and the smaller grid).

Usage:
    python benchmarks/passes.py [--model PATH.keras] [--images 50] [--seeds 2]
        [--mobilenet-images 6] [--plot docs/passes.png] [--json results.json] [--skip-mobilenet]
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

import xaiexp  # noqa: F401  (sets the TensorFlow environment before TensorFlow is imported)
from xaiexp.xai.kinds import PassOptions, Settings
from xaiexp.xai.masks import relevance
from xaiexp.xai.registry import registered_methods

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])  # conf/dataset
DEFAULT_FOUR = ("vanilla", "smoothgrad", "integrated", "smint")
NEW = PassOptions(rule="gausslegendre", sampling="latin")
REFERENCE = PassOptions(rule="riemann_middle", sampling="random")
# an IG scheme's median completeness error must be within 5 %: above it, Vertex Explainable AI
# ("Improve feature-based explanations") advises more steps
IG_COMPLETENESS = 0.05


@dataclass(frozen=True)
class Scheme:
    """One way to compute a method: the settings a MethodSet would get, and a family label."""

    family: str
    smoothing: int = 25
    steps: int = 100
    smint_samples: int = 6
    passes: PassOptions = field(default_factory=PassOptions)

    @property
    def settings(self):
        return Settings(self.smoothing, self.steps, self.smint_samples, passes=self.passes)

    def label(self, method):
        size = {"smoothgrad": f"{self.smoothing}", "vargrad": f"{self.smoothing}",
                "integrated": f"{self.passes.baselines}x{self.steps}",
                "smint": f"{self.smint_samples}x{self.steps}"}[method]
        return f"{self.family}: {size}"


FASTESTIMATOR = Scheme("FastEstimator")


def recipes(method, settings):
    declared = registered_methods()[method]
    return {f"{method}{suffix}": terms for suffix, terms in declared.passes(settings).items()}


def attributions(salnet, batch, method, scheme, seed):
    """Raw (B, H, W, C) attributions of ``method`` and, for IG, (B,) completeness errors."""
    settings = scheme.settings
    chosen = recipes(method, settings)
    salnet.seed = seed
    result = salnet.attributions(batch, chosen, completeness=method == "integrated",
                                 tolerance=settings.passes.tolerance,
                                 max_steps=settings.passes.max_steps)
    maps = [result.maps[key] for key in chosen]
    raw = registered_methods()[method].attributions(salnet, batch, maps, settings)
    errors = result.completeness_errors().get(method)
    return raw, errors, result.passes / len(batch["x"])


def reference(salnet, batch, method, scheme, repeats):
    """The mean of ``repeats`` independent runs of ``scheme`` (seeds 10⁶ + r): one big sample
    without one big draw in memory."""
    runs = [attributions(salnet, batch, method, scheme, 10 ** 6 + r)[0] for r in range(repeats)]
    return np.mean(runs, axis=0)


def distances(maps, references):
    """(L2, 1 − ρ) per image between relevance maps (B, H, W, 1)."""
    from scipy.stats import spearmanr

    flat, ref = (m.reshape(len(m), -1).astype(np.float64) for m in (maps, references))
    unit = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    unit_ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    l2 = np.linalg.norm(unit - unit_ref, axis=1)
    rho = np.array([spearmanr(a, b)[0] for a, b in zip(flat, ref)])
    return l2, 1 - rho


def scheme(smoothing=25, steps=100, smint_samples=6, **options):
    """A Scheme named after its rule, sampling and tolerance."""
    passes = PassOptions(**options)
    family = f"{passes.sampling} {passes.rule}" + (
        f", tolerance {passes.tolerance:g}" if passes.tolerance else "")
    return Scheme(family, smoothing, steps, smint_samples, passes)


def lenet_grid():
    """Schemes per method on LeNet: FastEstimator's family at other sizes, and the others."""
    new = {"rule": NEW.rule, "sampling": NEW.sampling}
    sizes = {"random": (9, 13, 17, 21), "antithetic": (9, 13, 17, 21, 25),
             "latin": (9, 13, 17, 19, 21, 23, 25)}
    return {
        "smoothgrad": [scheme(smoothing=n, sampling=s) for s, ns in sizes.items() for n in ns],
        "vargrad": [scheme(smoothing=n, sampling=s) for s, ns in sizes.items() for n in ns],
        "integrated": [scheme(steps=m) for m in (4, 16)]
        + [scheme(steps=m, baselines=b) for m, b in ((4, 4), (8, 4))]
        + [scheme(steps=m, baselines=b, **new)
           for m, b in ((4, 1), (2, 2), (4, 2), (8, 2), (16, 2), (2, 4), (4, 4), (8, 4), (4, 8))]
        + [scheme(steps=m, baselines=b, tolerance=IG_COMPLETENESS, max_steps=64, **new)
           for m in (2, 4) for b in (1, 2, 4)]
        + [scheme(steps=2, baselines=2, tolerance=0.01, max_steps=64, **new)],
        "smint": [scheme(steps=100, smint_samples=3)]
        + [scheme(steps=m, smint_samples=k, **new) for m in (2, 4, 8) for k in (3, 5, 7, 9, 13)],
    }


def mobilenet_grid():
    """The second model's candidates, fewer (a 224-px pass costs ~100 LeNet passes): per family,
    the sizes around LeNet's cheapest schemes as close as FastEstimator's, FastEstimator's own
    size for VarGrad, and IG with adaptive steps from 2 and 4 nodes (on MobileNetV2 four fixed
    Gauss–Legendre nodes leave a completeness error of ~60 %)."""
    new = {"rule": NEW.rule, "sampling": NEW.sampling}
    return {
        "smoothgrad": [scheme(smoothing=n, sampling="latin") for n in (23, 25)],
        "vargrad": [scheme(smoothing=25, sampling="latin")],
        "integrated": [scheme(steps=4, baselines=2, **new)]
        + [scheme(steps=m, baselines=b, tolerance=IG_COMPLETENESS, max_steps=64, **new)
           for m, b in ((2, 1), (2, 2), (2, 4), (4, 2), (4, 4))],
        "smint": [scheme(steps=m, smint_samples=k, **new) for m in (2, 4) for k in (5, 7, 9)],
    }


def evaluate(salnet, batch, grid, seeds, references):
    """{method: [row]} with each scheme's passes, mean distances (± standard errors) and IG's
    median completeness error."""
    rows = {}
    for method, schemes in grid.items():
        rows[method] = []
        for scheme in [FASTESTIMATOR, *schemes]:
            l2s, rhos, errors, passes = [], [], [], []
            for seed in seeds:
                raw, error, taken = attributions(salnet, batch, method, scheme, seed)
                l2, rho = distances(relevance(raw), relevance(references[method]))
                l2s.append(l2), rhos.append(rho), passes.append(taken)
                if error is not None:
                    errors.append(error)
            l2, rho = np.concatenate(l2s), np.concatenate(rhos)
            row = {"scheme": scheme, "label": scheme.label(method), "family": scheme.family,
                   "passes": float(np.mean(passes)), "l2": l2.mean(),
                   "l2_se": l2.std(ddof=1) / np.sqrt(len(l2)), "rho": rho.mean(),
                   "rho_se": rho.std(ddof=1) / np.sqrt(len(rho)),
                   "completeness": float(np.median(np.concatenate(errors))) if errors else None}
            rows[method].append(row)
            print(f"  {method:10s} {row['label']:28s} {row['passes']:7.1f} passes  L2 "
                  f"{row['l2']:.4f} ±{row['l2_se']:.4f}  1-rho {row['rho']:.4f} "
                  f"±{row['rho_se']:.4f}" + (f"  completeness {row['completeness']:.2e}"
                                             if row["completeness"] is not None else ""),
                  flush=True)
    return rows


def as_close(row, old):
    """Both distances at most FastEstimator's; for IG also a median completeness error within
    ``IG_COMPLETENESS``, or within FastEstimator's where that is larger."""
    return row["l2"] <= old["l2"] and row["rho"] <= old["rho"] and (
        row["completeness"] is None
        or row["completeness"] <= max(IG_COMPLETENESS, old["completeness"]))


def cheapest(rows_by_model, method, allowed):
    """The cheapest scheme of ``allowed`` that is as close as FastEstimator's on every model."""
    candidates = []
    for row in rows_by_model[0][method][1:]:
        if not allowed(row["scheme"]):
            continue
        matches = [next((r for r in rows[method] if r["scheme"] == row["scheme"]), None)
                   for rows in rows_by_model]
        if all(m is not None and as_close(m, rows[method][0])
               for m, rows in zip(matches, rows_by_model)):
            candidates.append(row)
    return min(candidates, key=lambda row: row["passes"], default=None)


def choose(results):
    """The new defaults: the cheapest SmoothGrad with the new sampling, and IG and SmInt with the
    new rule and sampling, that are as close as FastEstimator's on every model; IG and SmInt
    share their steps (explain.integrating[0]), so the steps are chosen for the two together.
    VarGrad shares SmoothGrad's samples (explain.smoothing): its scheme follows. Exits naming
    a default method none of whose schemes is as close."""
    models = list(results.values())
    chosen = {"smoothgrad": cheapest(models, "smoothgrad",
                                     lambda s: s.passes.sampling == NEW.sampling)}
    pairs = []
    for steps in sorted({s.steps for s in lenet_grid()["smint"]}):
        pair = [cheapest(models, method, lambda s, steps=steps: (
            s.passes.rule, s.passes.sampling, s.steps) == (NEW.rule, NEW.sampling, steps))
                for method in ("integrated", "smint")]
        if None not in pair:
            pairs.append(pair)
    if pairs:
        chosen["integrated"], chosen["smint"] = min(
            pairs, key=lambda pair: pair[0]["passes"] + pair[1]["passes"])
    missing = [method for method in ("smoothgrad", "integrated", "smint") if not chosen.get(method)]
    if missing:
        sys.exit(f"no scheme of the grid is as close as FastEstimator's for {missing}")
    chosen = {method: row["scheme"] for method, row in chosen.items()}
    chosen["vargrad"] = scheme(smoothing=chosen["smoothgrad"].smoothing, sampling=NEW.sampling)
    return chosen


def shapes_batch(count, size, normalize):
    from xaiexp.dataset.data import shapes

    _, evaluation = shapes.load_data(n_train=1, n_eval=max(count, 200), image_size=size, seed=0)
    x = evaluation.data["x"][:count].astype(np.float32)
    if normalize:
        x = ((x / 255.0 - MEAN) / STD).astype(np.float32)
    return {"x": x}


def trained_lenet(path):
    """The default experiment's model: ``path``, or a fresh default run's best model."""
    import keras

    if path is None:
        home = tempfile.mkdtemp(prefix="passes_")
        print("training the default LeNet (python -m xaiexp explain=none tracking=none)…",
              flush=True)
        subprocess.run([sys.executable, "-m", "xaiexp", "explain=none", "tracking=none"],
                       env={**os.environ, "XAIEXP_HOME": home}, check=True,
                       stdout=subprocess.DEVNULL)
        path = glob.glob(f"{home}/outputs/runs/*/*/model/model_best_accuracy.keras")[0]
    return keras.models.load_model(path)


def trained_mobilenet(steps, batch_size=16):
    """MobileNetV2 (random init, every layer trained) after ``steps`` Adam steps on shapes at
    224 px, with its eval accuracy on 64 other images. Batch normalization's moving statistics
    follow with momentum 0.9 instead of Keras' 0.99: after so few steps the default leaves them
    near their initial values, and the logits constant (gaps f(x) − f(b) of exactly 0)."""
    import keras

    from xaiexp.architecture.tensorflow import MobileNetV2
    from xaiexp.dataset.data import shapes

    keras.utils.set_random_seed(0)
    model = MobileNetV2((224, 224, 3), classes=5, weights=None, freeze_backbone=False)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    train, evaluation = shapes.load_data(n_train=steps * batch_size, n_eval=64, image_size=224,
                                         seed=1)
    model.fit(train.data["x"].astype(np.float32), train.data["y"], batch_size=batch_size,
              epochs=1, verbose=0)
    accuracy = model.evaluate(evaluation.data["x"].astype(np.float32), evaluation.data["y"],
                              verbose=0)[1]
    return model, accuracy


def run_model(name, model, batch, grid, seeds, reference_scheme, repeats, chunk_size):
    from xaiexp.xai import SaliencyNet

    salnet = SaliencyNet(model, "x", "y_pred", output="logit", noise_range="image",
                         chunk_size=chunk_size)
    start = time.perf_counter()
    references = {method: reference(salnet, batch, method, reference_scheme[method], repeats)
                  for method in grid}
    print(f"{name}: references in {time.perf_counter() - start:.0f} s", flush=True)
    return evaluate(salnet, batch, grid, seeds, references)


def time_default_four(model, batch, new, reps, chunk_size):
    """Seconds per image of the four default methods through MethodSet, FastEstimator's
    settings and ``new``, alternating; the median of per-repetition ratios."""
    from xaiexp.xai import SaliencyNet
    from xaiexp.xai.method_set import MethodSet

    salnet = SaliencyNet(model, "x", "y_pred", output="logit", noise_range="image",
                         chunk_size=chunk_size, seed=0)
    sets = {label: MethodSet(DEFAULT_FOUR, smoothing=s.smoothing, steps=s.steps,
                             smint_samples=s.smint_samples, passes=s.passes)
            for label, s in (("old", FASTESTIMATOR), ("new", new))}
    for method_set in sets.values():
        method_set.explain(salnet, {"x": batch["x"][:2]})  # trace once
    seconds = {label: [] for label in sets}
    for _ in range(reps):
        for label, method_set in sets.items():
            start = time.perf_counter()
            method_set.explain(salnet, batch)
            seconds[label].append((time.perf_counter() - start) / len(batch["x"]))
    ratios = [old / new for old, new in zip(seconds["old"], seconds["new"])]
    return {label: float(np.median(values)) for label, values in seconds.items()} | {
        "ratio": float(np.median(ratios))}


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(results)
    methods = list(results[models[0]])
    figure, axes = plt.subplots(len(models), len(methods), figsize=(4 * len(methods),
                                                                    3.4 * len(models)),
                                squeeze=False)
    for row, model in enumerate(models):
        for column, method in enumerate(methods):
            axis = axes[row][column]
            rows = results[model][method]
            old = rows[0]
            families = {}
            for entry in rows[1:]:
                families.setdefault(entry["family"], []).append(entry)
            for family, entries in families.items():
                entries = sorted(entries, key=lambda e: e["passes"])
                axis.plot([e["passes"] for e in entries], [e["l2"] for e in entries], "o-",
                          label=family, markersize=3)
            axis.plot(old["passes"], old["l2"], "k*", markersize=12, label="FastEstimator")
            axis.axhline(old["l2"], color="k", linestyle=":", linewidth=0.8)
            axis.set_xscale("log")
            axis.set_title(f"{model}: {method}", fontsize=10)
            axis.set_xlabel("gradient passes per image")
            axis.set_ylabel("L2 distance to the reference")
            axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"plot: {path}")


def table(results, chosen):
    """Markdown: per method, FastEstimator's and the chosen scheme on every model."""
    lines = ["| method | model | scheme | passes/image | L2 | 1 − ρ | IG completeness | as close |",
             "|---|---|---|---|---|---|---|---|"]
    for method in chosen:
        for model, rows in results.items():
            old = rows[method][0]
            new = next(r for r in rows[method] if r["scheme"] == chosen[method])
            for label, row in (("FastEstimator " + old["label"].split(" ", 1)[1], old),
                               (f"new {new['label']}", new)):
                completeness = "" if row["completeness"] is None else f"{row['completeness']:.1e}"
                verdict = "" if row is old else ("yes" if as_close(row, old) else "no")
                lines.append(f"| {method} | {model} | {label} | {row['passes']:.0f} | "
                             f"{row['l2']:.3f} ± {row['l2_se']:.3f} | {row['rho']:.4f} ± "
                             f"{row['rho_se']:.4f} | {completeness} | {verdict} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras of a default xaiexp run (else one is trained)")
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--reference-draws", type=int, default=1024)
    parser.add_argument("--reference-baselines", type=int, default=64)
    parser.add_argument("--reference-steps", type=int, default=32)
    parser.add_argument("--mobilenet-images", type=int, default=6)
    parser.add_argument("--mobilenet-reference", type=int, default=256,
                        help="draws (SmoothGrad, VarGrad), baselines x steps (IG) and 4 x SmInt's"
                             " samples x steps at 224 px")
    parser.add_argument("--mobilenet-steps", type=int, default=96, help="training steps")
    parser.add_argument("--skip-mobilenet", action="store_true")
    parser.add_argument("--time-images", type=int, default=25)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--plot", default="docs/passes.png")
    parser.add_argument("--json")
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}", flush=True)
    seeds = list(range(args.seeds))

    draws = args.reference_draws
    lenet_reference = {
        "smoothgrad": Scheme("reference", smoothing=draws // 4 + 1, passes=REFERENCE),
        "vargrad": Scheme("reference", smoothing=draws // 4, passes=REFERENCE),
        "integrated": Scheme("reference", steps=args.reference_steps, passes=PassOptions(
            rule="riemann_middle", baselines=args.reference_baselines // 4)),
        "smint": Scheme("reference", steps=8, smint_samples=draws // 16 + 1, passes=REFERENCE),
    }
    lenet = trained_lenet(args.model)
    grid = lenet_grid()
    results = {"LeNet 32 px": run_model("LeNet", lenet, shapes_batch(args.images, 32, True), grid,
                                        seeds, lenet_reference, 4, 4096)}

    chosen = choose(results)
    if not args.skip_mobilenet:
        model, accuracy = trained_mobilenet(args.mobilenet_steps)
        print(f"MobileNetV2 224 px, random init, {args.mobilenet_steps} steps on shapes: eval "
              f"accuracy {accuracy:.3f}", flush=True)
        size = args.mobilenet_reference
        mobile_reference = {
            "smoothgrad": Scheme("reference", smoothing=size // 4 + 1, passes=REFERENCE),
            "vargrad": Scheme("reference", smoothing=size // 4, passes=REFERENCE),
            "integrated": Scheme("reference", steps=16, passes=PassOptions(
                rule="riemann_middle", baselines=max(1, size // 64))),
            "smint": Scheme("reference", steps=4, smint_samples=size // 16 + 1,
                            passes=REFERENCE),
        }
        results["MobileNetV2 224 px"] = run_model(
            "MobileNetV2", model, shapes_batch(args.mobilenet_images, 224, False),
            mobilenet_grid(), [0], mobile_reference, 4, 32)
        chosen = choose(results)

    print("\nchosen (cheapest as close as FastEstimator's on every model):")
    for method, scheme in chosen.items():
        print(f"  {method}: {scheme.label(method)} {scheme.passes}")
    default_new = Scheme("new", smoothing=chosen["smoothgrad"].smoothing,
                         steps=chosen["smint"].steps,
                         smint_samples=chosen["smint"].smint_samples,
                         passes=chosen["integrated"].passes)
    nominal = 1 + 25 + 100 + 600  # FastEstimator's count: vanilla, SmoothGrad, IG, SmInt
    totals = {}
    for model, rows in results.items():
        # measured passes (IG's refinements in); vanilla's clean gradient is SmoothGrad's and
        # SmInt's first term, computed once
        measured = {method: next(r for r in rows[method] if r["scheme"] == chosen[method])
                    for method in ("smoothgrad", "integrated", "smint")}
        old = {method: rows[method][0]["passes"] for method in measured}
        totals[model] = {
            "old": 1 + old["smoothgrad"] - 1 + old["integrated"] + old["smint"] - 1,
            "new": 1 + sum(row["passes"] for row in measured.values()) - 2}
        print(f"\n{model}, four default methods, passes per image: FastEstimator {nominal} as it "
              f"counts them ({totals[model]['old']:.0f} engine rows, the clean gradient shared), "
              f"new {totals[model]['new']:.0f}: {nominal / totals[model]['new']:.1f}x fewer "
              f"({totals[model]['old'] / totals[model]['new']:.1f}x in rows)")

    timing = time_default_four(lenet, shapes_batch(args.time_images, 32, True), default_new,
                               args.reps, 4096)
    print(f"\nseconds per image, four default methods (LeNet, {args.time_images} images, "
          f"median of {args.reps}): FastEstimator's {timing['old']:.4f}, new "
          f"{timing['new']:.4f}: {timing['ratio']:.1f}x faster; load average "
          f"{os.getloadavg()[0]:.1f}")
    print("\n" + table(results, chosen))
    if args.plot:
        plot(results, args.plot)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"results": {model: {method: [{k: v for k, v in row.items() if k != "scheme"}
                                                    for row in rows] for method, rows in
                                           methods.items()} for model, methods in results.items()},
                       "chosen": {m: s.label(m) for m, s in chosen.items()},
                       "passes": totals, "nominal_old": nominal,
                       "timing": timing}, out, indent=1, default=float)


if __name__ == "__main__":
    main()
