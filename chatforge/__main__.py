from chatforge.cli import main

raise SystemExit(main())
