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


MODES = ("train", "eval", "test", "infer")


def parse_modes(mode):
    """None -> every mode; "eval" or ["eval", "test"] -> those; "!train" -> all but train."""
    modes = to_list(mode)
    if not modes:
        return set(MODES)
    negated = {m[1:] for m in modes if m.startswith("!")}
    chosen = {m for m in modes if not m.startswith("!")}
    unknown = (negated | chosen) - set(MODES)
    if unknown:
        raise ValueError(f"unknown mode(s) {sorted(unknown)}; choose from {list(MODES)}")
    return (set(MODES) - negated) if negated else chosen


def safe_name(name):
    """A file/artifact-safe version of a key or class name: no path separators, no '..', no NUL."""
    cleaned = "".join(c if c.isalnum() or c in "_-." else "_" for c in str(name)).strip(".")
    return cleaned or "_"
