from trakt_mcp.cli import main

raise SystemExit(main())
