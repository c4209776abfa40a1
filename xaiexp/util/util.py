"""Small helpers shared across the library."""

import math
import re


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
    """A file/artifact name made from a key or class name: separators, NUL and other odd
    characters become "_" and no ".." or leading dot remains, so no name can escape its folder."""
    cleaned = re.sub(r"[^\w.-]", "_", str(name))
    while ".." in cleaned:
        cleaned = cleaned.replace("..", "_")
    return cleaned.lstrip(".") or "_"


def short_value(text: str) -> str:
    """``0.0003`` -> ``3e-4``, ``1000000.0`` -> ``1e6``, ``0.00123`` stays, ``~/data/pets`` ->
    ``pets``; other text as it is."""
    try:
        number = float(text)
    except ValueError:
        return text.rstrip("/").rsplit("/", 1)[-1] if "/" in text and "[" not in text else text
    if number.is_integer() and abs(number) < 1e4 or not math.isfinite(number):
        return text
    mantissa, _, exponent = f"{number:.2e}".partition("e")
    scientific = f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return min(f"{number:.3g}", scientific, key=len)
