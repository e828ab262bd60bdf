"""``python -m linkage`` runs the command line."""

import sys

from linkage.cli import main

sys.exit(main())
