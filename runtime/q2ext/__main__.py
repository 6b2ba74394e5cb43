"""`python -m q2ext ...`: the project's commands."""

import sys

from .cli import main

sys.exit(main())
