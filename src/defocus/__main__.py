"""Allow ``python -m defocus``."""

from defocus.cli.main import main

raise SystemExit(main())
