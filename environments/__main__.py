import sys

from environments.cli import main

sys.exit(main())
