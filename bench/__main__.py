import sys

from meterbench.cli import main

sys.exit(main())
