"""Learning-rate schedules: plain functions of the step (or epoch) and named parameters."""

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

from xaiexp.util.bounds import bounded


@dataclass
class ConstantConfig:
    _target_: str = "xaiexp.schedule.constant"
    init_lr: float = bounded(1e-3, above=0)


@dataclass
class CosineConfig(ConstantConfig):
    _target_: str = "xaiexp.schedule.cosine"
    min_lr: float = bounded(1e-6, minimum=0)
    cycle_length: Optional[int] = bounded(None, minimum=1)  # null: one cycle over the whole run
    # beyond 1e6 a second cycle never comes, and the cycle arithmetic overflows float64
    cycle_multiplier: float = bounded(1.0, minimum=1, maximum=1e6)


SCHEMAS = (CosineConfig, ConstantConfig)


def cosine_decay(time: float, cycle_length: float, init_lr: float, min_lr: float = CosineConfig.min_lr,
                 start: float = 1, cycle_multiplier: float = 1) -> float:
    """Cosine annealing with warm restarts, FastEstimator's semantics.

    ``time`` is the step (or epoch) counted from ``start``, which gets ``init_lr``; the rate
    falls along half a cosine to ``min_lr`` over ``cycle_length`` steps and then restarts.
    With ``cycle_multiplier`` > 1 each cycle is that many times longer than the last.
    """
    if cycle_length < 1:
        raise ValueError(f"cycle_length must be >= 1, got {cycle_length}")
    if cycle_multiplier < 1:
        raise ValueError(f"cycle_multiplier must be >= 1, got {cycle_multiplier}")
    if time < start:
        return init_lr
    elapsed = time - start  # 0 at the first step
    if cycle_multiplier == 1:
        cycle = elapsed // cycle_length
        cycle_begin = cycle * cycle_length
    else:
        cycle = math.floor(math.log(elapsed * (cycle_multiplier - 1) / cycle_length + 1, cycle_multiplier))
        cycle_begin = cycle_length * (cycle_multiplier ** cycle - 1) / (cycle_multiplier - 1)
    progress = (elapsed - cycle_begin) / (cycle_length * cycle_multiplier ** cycle)
    return (init_lr - min_lr) / 2 * math.cos(progress * math.pi) + (init_lr + min_lr) / 2


def cosine(init_lr: float, total_steps: int, min_lr: float = CosineConfig.min_lr,
           cycle_length: int | None = None,
           cycle_multiplier: float = CosineConfig.cycle_multiplier) -> Callable[[int], float]:
    """``lr_fn(step)``: ``cosine_decay`` per step, one cycle over ``total_steps`` unless
    ``cycle_length`` is given (what ``schedule=cosine`` builds)."""
    return functools.partial(cosine_decay, cycle_length=cycle_length or total_steps, init_lr=init_lr,
                             min_lr=min_lr, cycle_multiplier=cycle_multiplier)


def constant(init_lr: float) -> Callable[[int], float]:
    """``lr_fn(step)`` that is always ``init_lr`` (what ``schedule=constant`` builds)."""
    return functools.partial(_constant, init_lr=init_lr)


def _constant(step: int, init_lr: float) -> float:
    return init_lr
