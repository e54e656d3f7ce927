"""`python -m intersyn` runs the same entry point as the `intersyn` console script."""

import sys

from intersyn.cli.main import main

sys.exit(main())
