"""Vanilla gradient (Simonyan et al., 2013): the target's gradient w.r.t. the input."""

from xaiexp.xai.kinds import Gradients
from xaiexp.xai.method import Method, Term


def vanilla_gradient() -> Method:
    return (Term(),)


METHOD = Gradients(name="vanilla", title="{}", order=10, default=True,
                   recipe=lambda settings: vanilla_gradient())
