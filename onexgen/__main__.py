"""``python -m onexgen`` is the same as the ``onexgen`` command."""

import sys

from onexgen.cli import main

sys.exit(main())
