"""``python -m asyncjobs``: the command line (see :mod:`asyncjobs._cli`)."""

import sys

from asyncjobs._cli import main

if __name__ == "__main__":
    sys.exit(main())
