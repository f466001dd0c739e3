import sys

from mapreg.app.cli import main

sys.exit(main())
