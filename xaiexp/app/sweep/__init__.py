"""Sweeps: Hydra's sweepers and launchers (Optuna's ask/tell loop, a grid that outlives a failed
job, a Ray cluster), the search space, the Optuna study and its pruning."""
