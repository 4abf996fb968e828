"""trakt-mcp: a Trakt.tv MCP server with built-in guardrails.

Where things are, by job (a request runs cli/ or http/ -> server/ -> guard -> tools/ -> trakt/):
- `cli/`: the `trakt-mcp` command — serving (`main`), every subcommand (sign-in, policy, identities, setup,
  install with its JSONC editing and client table, sandbox, state), `call` in-process (`local`), generated docs.
- `http/`: serving MCP over streamable HTTP — the ASGI app and bearer identities (`serve`), connection limits
  (`limits`), the owner's loopback token (`owner_token`).
- `remote/`: multi-user mode beside it (`--public-url`): this server as the OAuth authorization server that
  claude.ai, ChatGPT and phones sign in to (`oauth`, `routes`, `client_documents`), each person's own Trakt sign-in
  and access (`trakt_signin`, `people`), what is remembered (`store`: the one interface; `sqlite`; `postgres`;
  `sealing`), the person's pages (`browser` sessions, `consent`, `account`, `pages`).
- `server/`: the MCP surface — building the server (`build`), the one place the guard is bound (`guarded`), Trakt's
  capabilities a person grants an app (`capabilities`),
  resources, prompts, completions, caching hints, exact JSON-RPC errors, the stdio quick start.
- `tools/`: every tool, one module per toolset, each declared once (`spec`) with its parameters and formatting.
- `apps/`: MCP Apps cards (HTML views and the layer that attaches them to results).
- `trakt/`: everything that talks to Trakt — the HTTP client (`client`, `answers`), typed errors, the device-flow
  sign-in (`auth`, `signins`), the token store, the app's credentials, the catalogue cache.
- `sandbox/`: the built-in fake Trakt for offline use and for every test (`fake`, `routes/`, data, account state).
- Beside them: `app` (the running server's shared objects), `settings` (typed configuration), `logs` (stderr and
  MCP client logging, redacted), `terminal` (showing others' text safely).

The policy layer is the separate `guard` package, which never imports this one.
"""

__version__ = "0.1.0"
