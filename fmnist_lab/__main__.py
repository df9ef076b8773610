"""``python -m fmnist_lab``: see ``fmnist_lab.cli``."""

import sys

from .cli import main

sys.exit(main())
