"""Multi-user mode (`--public-url`): trakt-mcp as the OAuth authorization server MCP clients such as claude.ai and
ChatGPT sign in to, and each person's own Trakt sign-in behind it.

- `store` / `sqlite`: what is remembered (people, sealed Trakt tokens, clients, codes, tokens by digest), one
  interface and its SQLite implementation;
- `sealing`: AES-GCM for Trakt tokens at rest; `oauth`: the grants (authlib); `client_documents`: client ID
  metadata documents fetched with SSRF care; `trakt_signin`: the Trakt authorization-code flow;
- `people`: each person's Trakt access and who the current caller is; `routes` / `pages`: the HTTP endpoints and
  the pages a person sees; `browser`: browser sessions (cookie, CSRF tokens) for those pages; `consent`: what
  the person lets an app do, after the Trakt sign-in; `account`: the person's own page (`/account`); `serve`: all
  of it put together.
"""
