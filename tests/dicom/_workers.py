"""Worker functions for parallel-decoding tests (must be importable by worker processes)."""

from __future__ import annotations

import os
import time

import numpy as np


def hang(path: str) -> np.ndarray:
    """Stands for a decoder stuck in C code on a hostile codestream."""
    time.sleep(600)
    return np.zeros(1)


def crash(path: str) -> np.ndarray:
    """Stands for a decoder that segfaults its process."""
    os._exit(139)
