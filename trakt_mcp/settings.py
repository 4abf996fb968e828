"""Typed configuration: environment variables, overridden by command-line flags, validated at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from trakt_mcp.terminal import command

DEFAULT_API_URL = "https://api.trakt.tv"
#: Trakt's image host (its image URLs come without a scheme). MCP Apps cards may load pictures from it alone.
TRAKT_IMAGE_HOST = "walter-r2.trakt.tv"
SANDBOX_API_URL = "https://sandbox.trakt.invalid"
SANDBOX_CLIENT_ID = "sandbox-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"  # a public, fake value for the offline sandbox
#: What the sandbox gives as the device sign-in page: nothing to open, and clearly not trakt.tv.
SANDBOX_VERIFICATION_URL = f"{SANDBOX_API_URL}/activate"

#: Environment variable -> settings field. These names are a contract with users.
ENV_VARS: dict[str, str] = {
    "TRAKT_CLIENT_ID": "client_id",
    "TRAKT_CLIENT_SECRET": "client_secret",
    "TRAKT_API_URL": "api_url",
    "TRAKT_MCP_HOME": "home",
    "TRAKT_MCP_POLICY": "policy",
    "TRAKT_MCP_SHADOW_POLICY": "shadow_policy",
    "TRAKT_MCP_READ_ONLY": "read_only",
    "TRAKT_MCP_TOOLSETS": "toolsets",
    "TRAKT_MCP_TOOLS": "tools",
    "TRAKT_MCP_STATE": "state",
    "TRAKT_MCP_PUBLIC_URL": "public_url",
    "TRAKT_MCP_TRAKT_SIGNIN": "trakt_signin",
    "TRAKT_MCP_APPROVAL_SECONDS": "approval_seconds",
}

#: The settings that are credentials, for `status` (where each came from).
CREDENTIALS = ("client_id", "client_secret")

TRAKT_APP_PAGE = "https://trakt.tv/oauth/applications/new"
#: Set by the Claude Desktop extension's manifest (bundle/manifest.json): its user configures the server in the
#: extension's settings, and has no `trakt-mcp` command in a shell.
BUNDLE_ENV = "TRAKT_MCP_BUNDLE"
#: The extension's settings, as Claude Desktop titles them (bundle/manifest.json's user_config).
BUNDLE_SETTINGS = "Claude Desktop > Settings > Extensions > Trakt > Configure"
#: What an unfilled optional field of the extension arrives as: the manifest's own placeholder, untouched.
UNFILLED = re.compile(r"^\$\{user_config\.[A-Za-z0-9_]+\}$")


def in_bundle(environ: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if environ is None else environ).get(BUNDLE_ENV))


def how_to_configure(environ: Mapping[str, str] | None = None) -> str:
    """How to give the server its Trakt app's credentials, in the words of where it runs."""
    if in_bundle(environ):
        return (
            f'Open {BUNDLE_SETTINGS}, fill in "Trakt client ID" and "Trakt client secret" from your Trakt API app '
            f"(create it at {TRAKT_APP_PAGE}, redirect URI urn:ietf:wg:oauth:2.0:oob), save, and enable the "
            "extension again."
        )
    return (
        f"Run `{command('setup')}` in a terminal: it asks for your Trakt app's client ID and secret (create the app "
        f"at {TRAKT_APP_PAGE}, redirect URI urn:ietf:wg:oauth:2.0:oob) and keeps them in your keyring; or set "
        "TRAKT_CLIENT_ID and TRAKT_CLIENT_SECRET in the MCP server's environment. "
        "To try everything offline without an account, start the server with --sandbox."
    )


#: What `--state` / TRAKT_MCP_STATE accept (libpq's two spellings).
STATE_SCHEMES = ("postgresql", "postgres")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (bracketed or not) or localhost."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_home() -> Path:
    return Path(platformdirs.user_state_dir("trakt-mcp", appauthor=False))


class Settings(BaseModel):
    """Everything the server needs to know at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str | None = None
    client_secret: SecretStr | None = None
    api_url: str = DEFAULT_API_URL
    home: Path = Field(default_factory=default_home)
    policy: Path | None = None
    #: A whole policy that decides beside the one in force without acting (audited as would_deny ...).
    shadow_policy: Path | None = None
    sandbox: bool = False
    transport: Literal["stdio", "streamable-http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    timeout: float = Field(default=30.0, gt=0)
    #: Quick restrictions (github-mcp-server style), compiled into the guard's policy by trakt_mcp.server.guarded.
    read_only: bool = False
    toolsets: tuple[str, ...] | None = None
    tools: tuple[str, ...] | None = None
    #: Where the guard's shared state lives beyond this machine: a postgresql:// URL (several replicas behind a load
    #: balancer share it). None: the SQLite file in `home`. Secret: the URL may carry a password.
    state: SecretStr | None = None
    #: Multi-user mode (trakt_mcp.remote): the address clients reach, e.g. https://trakt.example.com (MCP at
    #: <public_url>/mcp). Each person signs in with their own Trakt account.
    public_url: str | None = None
    #: How people sign in with Trakt there: Trakt redirects back to <public_url>/oauth/trakt/callback, or (a Trakt
    #: app with only the out-of-band redirect) they enter a code at Trakt (the device flow).
    trakt_signin: Literal["redirect", "device"] = "redirect"
    #: How long a person has to allow a call on their approvals page there, and to call again (seconds).
    approval_seconds: float = Field(default=300.0, ge=1, le=86400)
    #: Where each credential came from ("environment (TRAKT_CLIENT_ID)", "flag --client-id", "keyring ..."),
    #: for `trakt-mcp status`. Never the value.
    origins: dict[str, str] = Field(default_factory=dict, repr=False)

    @field_validator("toolsets", "tools", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            names = tuple(dict.fromkeys(str(item).strip() for item in value if str(item).strip()))
            return names or None
        return value

    @field_validator("state", mode="before")
    @classmethod
    def _check_state(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or (isinstance(text, str) and not text.strip()):
            return None
        if not isinstance(text, str) or urlsplit(text.strip()).scheme not in STATE_SCHEMES:
            raise ValueError(
                "must be a PostgreSQL URL such as postgresql://trakt:PASSWORD@db.example:5432/trakt, or unset for "
                "the SQLite file in TRAKT_MCP_HOME"
            )
        return text.strip()

    @field_validator("client_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        """https://, or http:// to a loopback test server only: the client secret and tokens travel in clear over
        http://. No user info, query or fragment (they would ride along on every call)."""
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an https:// URL such as https://api.trakt.tv")
        if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
            raise ValueError("must be a plain https:// base URL, without user name, password, query or fragment")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError(
                "must use https:// for any host but a local test server (127.0.0.1, ::1, localhost): over http:// "
                "the client secret and your tokens would travel in clear"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        """https:// (TLS at the reverse proxy), or http:// on loopback for trying it out; scheme, host and port only."""
        if value is None:
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be the https:// address clients reach, such as https://trakt.example.com")
        if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
            raise ValueError("must be scheme, host and port only, such as https://trakt.example.com (MCP is at /mcp)")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("must use https:// for any host but 127.0.0.1, ::1 or localhost")
        return value

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Environment first, then explicit overrides (command-line flags); None means 'not given'. A variable
        that is empty, or still holds an extension's unfilled `${user_config.KEY}` placeholder, is not set."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for var, field in ENV_VARS.items():
            if env.get(var) and not UNFILLED.match(env[var].strip()):
                values[field], origins[field] = env[var], f"environment ({var})"
        for field, value in (overrides or {}).items():
            if value is not None:
                values[field], origins[field] = value, f"flag --{field.replace('_', '-')}"
        if values.get("sandbox"):
            values["client_id"] = SANDBOX_CLIENT_ID
            values["client_secret"] = SANDBOX_CLIENT_SECRET
            values["api_url"] = SANDBOX_API_URL
            origins.update(dict.fromkeys(CREDENTIALS, "sandbox (built-in fake values)"))
        values["origins"] = {k: v for k, v in origins.items() if k in CREDENTIALS}
        return cls.model_validate(values)

    def with_stored_credentials(self, stored: Mapping[str, str], where: str) -> Settings:
        """Fill the credentials the environment and flags left unset from `trakt-mcp setup`'s store."""
        update: dict[str, Any] = {}
        origins = dict(self.origins)
        if self.client_id is None and stored.get("client_id"):
            update["client_id"], origins["client_id"] = stored["client_id"], where
        same_app = self.client_id is None or self.client_id == stored.get("client_id")
        if self.client_secret is None and stored.get("client_secret") and same_app:
            update["client_secret"], origins["client_secret"] = SecretStr(stored["client_secret"]), where
        if not update:
            return self
        return self.model_copy(update={**update, "origins": origins})

    @property
    def restricted(self) -> bool:
        return self.read_only or self.toolsets is not None or self.tools is not None

    def restriction_flags(self) -> list[str]:
        """The quick restrictions as command-line flags (for `install` and `policy check`)."""
        flags = ["--read-only"] if self.read_only else []
        flags += [f"--toolsets={','.join(self.toolsets)}"] if self.toolsets else []
        flags += [f"--tools={','.join(self.tools)}"] if self.tools else []
        return flags

    @property
    def configured(self) -> bool:
        return self.client_id is not None

    @property
    def state_url(self) -> str | None:
        return self.state.get_secret_value() if self.state else None

    @property
    def secret(self) -> str | None:
        return self.client_secret.get_secret_value() if self.client_secret else None
