"""``python -m ivkgen.cli``: the ``ivkgen`` command."""

import sys

from ivkgen.cli.main import main

sys.exit(main())
