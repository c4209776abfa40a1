"""Gradient × Input (Shrikumar et al., 2016, https://arxiv.org/abs/1605.01713): the gradient
times the input, a first-order estimate of each feature's contribution to the target."""

from xaiexp.xai.kinds import Gradients
from xaiexp.xai.method import Method, Term


def gradient_x_input() -> Method:
    return (Term(times_input=True),)


METHOD = Gradients(name="gradient_x_input", title="Gradient x Input {}", order=50,
                   recipe=lambda settings: gradient_x_input())
