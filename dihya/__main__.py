import sys

from dihya.cli import main

sys.exit(main())
