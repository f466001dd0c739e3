import sys

from mapreg.cli import main

sys.exit(main())
