"""``python -m ember``: the ``ember`` command (see ``ember.cli``)."""

import sys

from ember.cli import main

sys.exit(main())
