"""``python -m seqpacker`` runs the ``seqpacker`` command."""

import sys

from .cli import main

sys.exit(main())
