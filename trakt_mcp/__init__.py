"""trakt-mcp: a Trakt.tv MCP server with built-in guardrails."""

__version__ = "0.1.0"
