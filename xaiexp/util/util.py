"""Small helpers shared across the library."""


def to_list(value):
    """None -> [], scalar/str -> [value], iterable -> list(value)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def to_set(value):
    return set(to_list(value))
