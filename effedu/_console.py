"""Output any console can show. Windows consoles and pipes often encode cp1252, which has no ✗, ⚠, ✓ or →: a print of
one would turn the advice into a traceback. ``printable`` makes a stream write a plain stand-in instead. Standard
library only: ``course.py`` loads this file by path before anything is installed."""
from __future__ import annotations

import codecs
import io
import sys

STAND_INS = {"✗": "x", "✓": "ok", "⚠": "!", "→": "->", "←": "<-", "≤": "<=", "≥": ">=", "≈": "~", "−": "-",
             "×": "x", "·": ".", "…": "...", "—": "-", "–": "-", "’": "'", "σ": "sigma", "γ": "gamma", "β": "beta",
             "μ": "mu", "²": "^2", "√": "sqrt"}


def _stand_in(error: UnicodeEncodeError) -> tuple[str, int]:
    text = error.object[error.start:error.end]
    return "".join(STAND_INS.get(char, "?") for char in text), error.end


codecs.register_error("effedu-stand-in", _stand_in)


def printable(*streams: io.TextIOBase) -> None:
    """Make each stream (default: stdout and stderr) write a stand-in for a character its encoding lacks."""
    for stream in streams or (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and stream.errors != "effedu-stand-in":
            stream.reconfigure(errors="effedu-stand-in")
