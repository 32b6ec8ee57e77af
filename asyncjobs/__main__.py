"""``python -m asyncjobs``: the command line (see :mod:`asyncjobs.cli`)."""

import sys

from asyncjobs.cli import main

if __name__ == "__main__":
    sys.exit(main())
