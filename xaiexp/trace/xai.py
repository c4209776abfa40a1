"""The Saliency trace: saliency maps of fixed probe samples, painted at the end of every epoch."""

import numpy as np

from xaiexp.backend.to_number import to_number
from xaiexp.trace.trace import Trace
from xaiexp.util.img_data import ImgData, Overlay
from xaiexp.util.util import safe_name
from xaiexp.xai import (SaliencyNet, integrated_gradients, smooth_grad, smooth_integrated,
                        vanilla_gradient)
from xaiexp.xai.metrics import pointing_game, relevance_mass
from xaiexp.xai.saliency import class_indices

# Quality metrics the trace can log, each scoring a batch of maps against ground-truth masks.
LOCALIZATION_METRICS = {"relevance_mass": relevance_mass, "pointing_game": pointing_game}


class Saliency(Trace):
    """Computes saliency maps of a model for a few probe samples throughout training.

    The probes are taken from the first batches of the first epoch in each mode and reused in
    later epochs, so the maps show how the model's attention changes. At each epoch end an
    ``ImgData`` with the columns label, prediction, input, input overlaid with the right-most map,
    saliency, smoothed, integrated and SmInt is written under ``outputs`` (for ImageSaver,
    ImageViewer, TensorBoard or MLflow). All methods' gradient passes run together in a few
    compiled calls.

    Args:
        model: The Keras model to inspect.
        model_inputs: Batch key of the model's input images.
        model_outputs: Column name for the predicted classes.
        class_key: Batch key of the true labels (optional; adds a label column).
        label_mapping: {class name: class index}, to show names instead of indices.
        outputs: Key of the ImgData written into the epoch's data.
        samples: How many probes to keep (None: the first batch); or a dict
            {model_inputs: images, class_key: labels} of chosen probes.
        mode: Mode(s) to run in.
        smoothing: SmoothGrad samples (0: no smoothed column).
        integrating: Integration steps (0: no integrated and SmInt columns), or a tuple
            (integration steps, SmInt smoothing samples; 0 samples drops only SmInt). An int uses
            ``smoothing`` samples for SmInt.
        chunk_size: Most gradient passes per compiled call (bounds memory).
        seed: None for fresh noise every epoch; an int draws the same noise each epoch.
        mask_key: Batch key of ground-truth object masks (e.g. "mask" of the shapes dataset).
            With it, every method's maps are scored with ``metrics`` each epoch and logged as
            ``xai/<method>/<metric>`` (the mean over the probes).
        metrics: Names from LOCALIZATION_METRICS (relevance mass, pointing game).
    """

    def __init__(self, model, model_inputs, model_outputs, class_key=None, label_mapping=None,
                 outputs="saliency", samples=None, mode=("eval", "test"), smoothing=25,
                 integrating=(100, 6), chunk_size=1024, seed=None, mask_key=None,
                 metrics=("relevance_mass", "pointing_game")):
        super().__init__(inputs=[key for key in (class_key, model_inputs, mask_key) if key],
                         outputs=outputs, mode=mode)
        unknown = set(metrics) - set(LOCALIZATION_METRICS)
        if unknown:
            raise ValueError(f"unknown metric(s) {sorted(unknown)}; choose from {sorted(LOCALIZATION_METRICS)}")
        self.mask_key = mask_key
        self.metrics = {name: LOCALIZATION_METRICS[name] for name in metrics} if mask_key else {}
        self.model_inputs = model_inputs
        self.model_outputs = model_outputs
        self.class_key = class_key
        self.class_names = {index: name for name, index in (label_mapping or {}).items()}
        self.methods = self._methods(outputs, smoothing, integrating)
        self.salnet = SaliencyNet(model, model_inputs, model_outputs, outputs=outputs,
                                  chunk_size=chunk_size, seed=seed)
        if isinstance(samples, dict):
            self.samples = None
            self.probes = {mode: {key: to_number(samples[key]) for key in self.inputs}
                           for mode in self.mode}
        else:
            self.samples = samples
            self.probes = {}  # mode -> {key: array}, fixed once the mode's first epoch ends
        self._collected = {}  # mode -> list of batch slices, during that first epoch

    @staticmethod
    def _methods(name, smoothing, integrating):
        """Column name -> method, in column order; the last one is the overlay's."""
        if isinstance(integrating, tuple):
            steps, smint_samples = integrating
        else:
            steps, smint_samples = integrating, smoothing
        methods = {name: vanilla_gradient()}
        if smoothing:
            methods[f"Smoothed {name}"] = smooth_grad(smoothing)
        if steps:
            methods[f"Integrated {name}"] = integrated_gradients(steps)
            if smint_samples:
                methods[f"SmInt {name}"] = smooth_integrated(smint_samples, steps)
        return methods

    def needs_batch(self):
        """Only while this mode's probes are being collected."""
        return self.system is None or self.system.mode not in self.probes

    def on_batch_end(self, data):
        mode = self.system.mode
        if mode in self.probes:
            return
        collected = self._collected.setdefault(mode, [])
        have = sum(len(part[self.model_inputs]) for part in collected)
        wanted = self.samples
        if wanted is None:  # the whole first batch, whatever its size
            wanted = have or len(data[self.model_inputs])
        if have < wanted:
            collected.append({key: to_number(data[key])[:wanted - have] for key in self.inputs})

    def on_epoch_end(self, data):
        mode = self.system.mode
        if mode not in self.probes:
            collected = self._collected.pop(mode, None)
            if not collected:
                return
            self.probes[mode] = {key: np.concatenate([part[key] for part in collected])
                                 for key in self.inputs}
        maps = self.salnet.explain(self.probes[mode], self.methods)
        data.write_without_log(self.salnet.outputs, self._paint(self.probes[mode], maps))
        for method in self.methods:
            for name, metric in self.metrics.items():
                score = metric(maps[method], self.probes[mode][self.mask_key])
                data.write_with_log(f"xai/{safe_name(method).lower()}/{name}", float(np.mean(score)))

    def _paint(self, probes, maps):
        images = probes[self.model_inputs]
        columns = {}
        if self.class_key:
            columns[self.class_key] = self._names(class_indices(probes[self.class_key]))
        columns[self.model_outputs] = self._names(maps[self.model_outputs])
        columns[self.model_inputs] = images
        last_method = list(self.methods)[-1]
        columns[f"{self.model_inputs} {self.salnet.outputs}"] = Overlay(images, maps[last_method])
        columns.update((name, maps[name]) for name in self.methods)
        return ImgData(colormap="inferno", **columns)

    def _names(self, classes):
        if not self.class_names:
            return classes
        return np.array([self.class_names.get(int(c), str(c)) for c in classes])
