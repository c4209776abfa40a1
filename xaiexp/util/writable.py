"""Whether a folder can be written in: tried, not guessed from permission bits (which root
ignores), so a read-only mount or a full disk is named before a run starts, not mid-run."""

import os
import tempfile


def write_problem(folder, what, advice="") -> str | None:
    """Why ``what`` (e.g. "the output folder") cannot be written in ``folder`` (created if
    missing), ``advice`` in brackets after; None when it can."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        hint = f" ({advice})" if advice else ""
        return f"{what} cannot be written: {error.strerror or error}: {folder}{hint}"
    return None
