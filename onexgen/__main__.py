"""``python -m onexgen`` is the same as the ``onexgen`` command."""

import sys

from onexgen.cli.main import main

sys.exit(main())
