import sys

from localserver.server import main

sys.exit(main())
