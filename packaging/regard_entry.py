"""Entry point of the frozen Regard application (PyInstaller runs this script).

Kept outside the ``viewer`` package so that PyInstaller's analysis starts from a
plain script; it does exactly what the ``regard`` console script does.
"""

from __future__ import annotations

import multiprocessing
import sys

if __name__ == "__main__":
    # Decoders spread over processes: a frozen child must not re-run the CLI.
    multiprocessing.freeze_support()
    from viewer.cli import main

    sys.exit(main())
