"""`python -m benchmark` runs the ulvr command line."""

import sys

from benchmark.cli import main

sys.exit(main())
