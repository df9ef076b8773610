"""``python -m fmnist_lab``: see ``fmnist_lab.cli``."""

import sys

from fmnist_lab.cli import main

sys.exit(main())
