"""Entry point of the frozen app (PyInstaller): the same as the ``castline`` command."""

import sys

from editor.cli import main

if __name__ == "__main__":
    sys.exit(main())
