"""Checkpoints that let an interrupted fit() continue exactly where it stopped."""

import json
import os

import numpy as np

STATE_FILE = "state.json"
VARIABLES_FILE = "variables.npz"


class Checkpoint:
    """Every model's and optimizer's variables (weights, Adam moments, step counters, dropout
    seed states), the loop's position and the traces' own state, in ``directory``.

    Files are written beside and then renamed over the old ones, so an interruption while
    saving leaves the previous checkpoint intact.
    """

    def __init__(self, directory):
        self.directory = directory

    def exists(self):
        return os.path.exists(os.path.join(self.directory, STATE_FILE))

    def save(self, models, position, trace_states):
        os.makedirs(self.directory, exist_ok=True)
        arrays = {f"{index:05d}": np.asarray(variable) for index, variable in
                  enumerate(v for model in models for v in self._variables(model))}
        self._atomic(VARIABLES_FILE, lambda f: np.savez(f, **arrays))
        state = {"position": position, "traces": trace_states}
        self._atomic(STATE_FILE, lambda f: f.write(json.dumps(state, indent=1).encode()))

    def load(self, models):
        """Assign the saved variables to ``models`` in place; returns (position, trace states)."""
        with np.load(os.path.join(self.directory, VARIABLES_FILE)) as saved:
            values = [saved[key] for key in sorted(saved.files)]
        variables = [v for model in models for v in self._variables(model)]
        if len(values) != len(variables):
            raise ValueError(f"checkpoint {self.directory} holds {len(values)} variables, "
                             f"the models have {len(variables)}: not the same experiment")
        for variable, value in zip(variables, values):
            variable.assign(value)
        with open(os.path.join(self.directory, STATE_FILE)) as file:
            state = json.load(file)
        return state["position"], state["traces"]

    @staticmethod
    def _variables(model):
        return [*model.variables, *model.optimizer.variables]

    def _atomic(self, name, write):
        path = os.path.join(self.directory, name)
        with open(path + ".tmp", "wb") as file:
            write(file)
        os.replace(path + ".tmp", path)
