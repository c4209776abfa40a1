"""The contract every saliency method follows: a recipe of gradient passes, never a model call.

A method only says which attribution maps ("terms") to build for each image and how to combine
them. The engine (``engine.py``) runs the terms of all requested methods and images together as
a few large compiled calls; that split is what lets SmoothGrad, integrated gradients and SmInt
share one stream of batched gradients instead of one eager call per noisy or interpolated sample.
"""

from dataclasses import dataclass

from xaiexp.xai.draws import SAMPLERS
from xaiexp.xai.quadrature import RULES


@dataclass(frozen=True)
class Term:
    """One attribution map per image: gradients of the target class along a straight path.

    The path ends at e = x + N(0, σ²), σ = ``noise_spread`` · (max(x) − min(x)) over the batch
    (e = x when 0), and starts at a baseline b (``baselines.py``). An ``integrated`` term takes
    the weighted sum of the gradients at b + α(e − b) over the ``steps`` nodes α of the
    quadrature ``rule`` (``quadrature.py``; weights summing to 1) and multiplies it by (e − b); a
    plain term is the gradient at e (``steps`` = 1), times e itself when ``times_input``. Either
    is then multiplied by ``scale``, squared when ``squared``, and added to its method's result
    times ``weight``.

    The noise and a random baseline are the term's draw of its ``stream`` (``draws.py``; None:
    its method's own, by the method's name), sampled with the stream's other draws by
    ``sampling`` (``draws.SAMPLERS``).
    """

    noise_spread: float = 0.0
    integrated: bool = False
    steps: int = 1
    times_input: bool = False
    scale: float = 1.0
    squared: bool = False
    weight: float = 1.0
    rule: str = "linspace"
    sampling: str = "random"
    stream: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {list(RULES)}, got {self.rule!r}")
        if self.sampling not in SAMPLERS:
            raise ValueError(f"sampling must be one of {list(SAMPLERS)}, got {self.sampling!r}")
        if self.steps < 1 or (self.steps > 1 and not self.integrated):
            raise ValueError(f"steps must be >= 1, and 1 unless integrated; got {self}")
        if self.times_input and self.integrated:
            raise ValueError(f"integrated terms are already times (e − b); got {self}")
        if self.noise_spread < 0:
            raise ValueError(f"noise_spread must be >= 0, got {self.noise_spread}")

    @property
    def path(self) -> tuple[float, bool, int, bool, float, str]:
        """What the gradients depend on; terms with equal noise-free paths are computed once."""
        return self.noise_spread, self.integrated, self.steps, self.times_input, self.scale, \
            self.rule

    @property
    def is_random(self) -> bool:
        """Whether the term draws noise or a baseline (so two such terms never share a pass)."""
        return self.noise_spread > 0 or self.integrated


# A method is the terms built for every image, summed with their weights.
Method = tuple[Term, ...]
