"""A config field with bounds: its range is written once, by its key, and config validation
(``xaiexp.app.config.validate``) reads it from the field's metadata."""

from dataclasses import field


def bounded(default, minimum=None, above=None, below=None, maximum=None):
    """A field whose value must be >= ``minimum``, > ``above``, < ``below`` and <= ``maximum``
    (those given)."""
    bounds = {"minimum": minimum, "above": above, "below": below, "maximum": maximum}
    return field(default=default, metadata={k: v for k, v in bounds.items() if v is not None})
