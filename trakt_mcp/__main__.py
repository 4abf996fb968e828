from trakt_mcp.cli.main import main

raise SystemExit(main())
