"""What a loader's ``inspect`` tells before training, without loading (or importing TensorFlow)."""

from dataclasses import dataclass

from xaiexp.dataset.numpy_dataset import split_sizes


@dataclass(frozen=True)
class Summary:
    """The class names (label 0, 1, ... in order), one image's (H, W, C) shape and, when the
    loader knows them cheaply, its images per part as it returns them: (train, eval) or
    (train, eval, test) (() when unknown), the bytes of memory loading takes at its peak
    (0 for a loader that streams from disk), and for a loader that resizes its images, their
    own (H, W) as stored (the median; None otherwise)."""
    class_names: tuple
    image_shape: tuple
    rows: tuple = ()
    in_memory: int = 0
    stored_size: tuple | None = None


MIN_CLASSES = 2


def too_few_classes(names) -> str | None:
    """What is wrong with training a classifier on the classes ``names``, or None: one class
    trains to a constant answer, whose accuracy means nothing."""
    if len(names) >= MIN_CLASSES:
        return None
    return (f"{len(names)} class{'' if len(names) == 1 else 'es'} ({', '.join(map(str, names))}); "
            f"a classifier needs at least {MIN_CLASSES}")


def held_out(total, fraction):
    """(kept, held out): the rows left and split off when ``fraction`` of ``total`` is split
    (``NumpyDataset.split``); a ValueError when either would be empty."""
    (held,) = split_sizes(total, (fraction,))
    return total - held, held
