"""``python -m dcgan_tutorial ...``: see ``cli.py``."""

import sys

from .cli import main

sys.exit(main())
