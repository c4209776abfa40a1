"""The error every bad config value becomes: one line naming the key."""


def one_line(text) -> str:
    """``text`` on one line: newlines and other control characters escaped as in a repr."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def first_line(error) -> str:
    """The first line of ``error``'s message (or of a text), its runs of spaces squeezed; the
    error's type when it has no message."""
    return one_line(" ".join(str(error).split("\n")[0].split()) or type(error).__name__)


class ConfigError(ValueError):
    """A bad config value: ``key`` names it, the message says what is allowed (one line)."""

    def __init__(self, key: str, message: str):
        super().__init__(one_line(f"{key}: {message}"))
        self.key = key
