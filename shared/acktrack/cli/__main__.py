"""`python -m acktrack.cli`: the same as the `acktrack` command."""

import sys

from acktrack.cli import main

if __name__ == "__main__":
    sys.exit(main())
