"""Which config keys a run logs as MLflow params: what tells it apart from other runs.

Not the whole config (about 80 keys; the run's ``config.yaml`` artifact holds it all): MLflow
3.17's image card in Model metrics lists every param of the run above its image, so the full
config pushed the saliency maps out of sight.
"""

CORE_KEYS = ("seed", "epochs", "batch_size", "schedule.init_lr", "precision")  # always logged
SWEEP_KEYS = ("objective.metric", "objective.direction")  # a sweep's child: how it was ranked
UNLOGGED_GROUPS = ("tracking", "sweeper")  # where a run goes and how jobs are swept, not what it is


def run_params(flat: dict, choices: dict, overrides: list[str], in_sweep: bool = False) -> dict:
    """The params of a run whose flattened config is ``flat``: the config groups chosen
    (``dataset=shapes``, ``model=lenet`` ...; ``choices`` as Hydra records them), the CORE_KEYS,
    every key an override set (``overrides``: the command line's or a sweeper's, so a sweep's
    values are always there), and in a sweep the objective."""
    set_keys = [key for key in (override.partition("=")[0].lstrip("+~") for override in overrides)
                if key not in choices]  # a group's choice is logged as its option, not its keys
    wanted = set(CORE_KEYS) | (set(SWEEP_KEYS) if in_sweep else set())
    picked = {key: value for key, value in flat.items()
              if key in wanted or any(key == s or key.startswith(f"{s}.") for s in set_keys)}
    groups = {group: option for group, option in choices.items()
              if option is not None and "/" not in group and group not in UNLOGGED_GROUPS}
    return {**groups, **picked}
