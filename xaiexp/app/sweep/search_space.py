"""Hydra's sweep grammar as an Optuna search space (the grammar of Hydra's Optuna sweeper plugin).

``interval(a, b)`` is a float in [a, b], ``tag(log, interval(a, b))`` the same on a log scale,
``range(start, stop[, step])`` an integer (stop excluded, as in Hydra's grid sweeps; a float range
or ``shuffle(range(...))`` is a choice of its values), ``choice(...)`` a categorical. Any other
value is fixed: passed to every trial as it is. See
https://hydra.cc/docs/plugins/optuna_sweeper/ and
https://hydra.cc/docs/advanced/override_grammar/extended/.
"""

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import (BaseDistribution, CategoricalDistribution, FloatDistribution,
                                  IntDistribution)


def search_space(overrides: list[str]) -> tuple[dict[str, BaseDistribution], dict[str, str]]:
    """(distributions of the swept keys, override values of the fixed ones) for ``key=value``
    strings such as ``schedule.init_lr=tag(log, interval(1e-4, 1e-2))``; a later override of a
    key replaces an earlier one (the command line after ``hydra.sweeper.params``)."""
    swept, fixed = {}, {}
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        swept.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            swept[key] = distribution(override)
        else:
            fixed[key] = override.get_value_element_as_str()
    return swept, fixed


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override."""
    sweep = override.value()
    if isinstance(sweep, IntervalSweep):
        return FloatDistribution(float(sweep.start), float(sweep.end), log="log" in sweep.tags)
    values = list(override.sweep_iterator(transformer=Transformer.encode))
    if not values:
        raise ValueError(f"hydra.sweeper.params: {override.input_line} has no values to choose from")
    if isinstance(sweep, RangeSweep) and not sweep.shuffle and all(isinstance(v, int) for v in values):
        return IntDistribution(min(values), max(values), step=abs(int(sweep.step)))
    return CategoricalDistribution(values)


def suggest(trial, swept: dict[str, BaseDistribution]) -> None:
    """Sample every swept key in ``trial`` (an ``optuna.Trial``) from its distribution."""
    for key, space in swept.items():
        if isinstance(space, FloatDistribution):
            trial.suggest_float(key, space.low, space.high, log=space.log)
        elif isinstance(space, IntDistribution):
            trial.suggest_int(key, space.low, space.high, step=space.step)
        else:
            trial.suggest_categorical(key, space.choices)


def as_overrides(params: dict, fixed: dict[str, str]) -> list[str]:
    """A trial's Hydra overrides: its sampled values, then the fixed ones."""
    return [f"{key}={value}" for key, value in {**params, **fixed}.items()]
