"""Vanilla gradient (Simonyan et al., 2013): the target's gradient w.r.t. the input."""

from xaiexp.xai.method import Method, Term


def vanilla_gradient() -> Method:
    return (Term(),)
