"""Keep the best model of a run on disk."""

import os

import numpy as np

from xaiexp.trace.trace import Trace


class BestModelSaver(Trace):
    """Save ``model`` whenever the eval ``metric`` improves (default: the model's loss).

    Written to ``<save_dir>/<model_name>_best_<metric>.keras`` (Keras' native format, which
    loads in safe mode). ``load_best_final`` restores those weights when training ends, so a
    following ``test()`` sees the best model rather than the last.
    """

    def __init__(self, model, save_dir, metric=None, save_best_mode="min", load_best_final=False):
        if save_best_mode not in ("min", "max"):
            raise ValueError(f"save_best_mode must be 'min' or 'max', got {save_best_mode!r}")
        super().__init__(inputs=metric, outputs=None, mode="eval")
        self.model = model
        self.save_dir = save_dir
        self.metric = metric
        self.save_best_mode = save_best_mode
        self.load_best_final = load_best_final
        self.best = np.inf if save_best_mode == "min" else -np.inf
        self.since_best = 0
        self.model_path = None

    def needs_batch(self):
        return False

    def on_begin(self, data):
        if self.metric is None:
            losses = self.system.network.loss_keys if self.system.network else []
            if not losses:
                raise ValueError("BestModelSaver needs a metric: the network has no UpdateOp loss")
            self.metric = losses[0]
        self.outputs = [f"since_best_{self.metric}", f"{self.save_best_mode}_{self.metric}"]
        self.quiet_keys = tuple(self.outputs)
        self.model_path = os.path.join(self.save_dir, f"{self.model.model_name}_best_{self.metric}.keras")

    def on_epoch_end(self, data):
        if self.metric not in data:
            raise KeyError(f"BestModelSaver: no eval metric {self.metric!r}; have {sorted(data)}")
        value = float(data[self.metric])
        improved = value < self.best if self.save_best_mode == "min" else value > self.best
        if improved:
            self.best, self.since_best = value, 0
            os.makedirs(self.save_dir, exist_ok=True)
            self.model.save(self.model_path)
        else:
            self.since_best += 1
        data.write_with_log(self.outputs[0], self.since_best)
        data.write_with_log(self.outputs[1], self.best)

    def state_dict(self):
        return {"best": self.best, "since_best": self.since_best}

    def load_state_dict(self, state):
        self.best, self.since_best = state["best"], state["since_best"]

    def on_end(self, data):
        if self.load_best_final and self.model_path and os.path.exists(self.model_path):
            import keras

            self.model.set_weights(keras.models.load_model(self.model_path, safe_mode=True).get_weights())
