"""Helpers for the multi-user tests: a real `trakt-mcp --public-url` process, the OAuth steps done over plain HTTP
(for the refusal tests; the end-to-end test uses the TypeScript SDK and chromium instead), and an https server on
loopback for client ID metadata documents (a throwaway certificate the server is told to trust)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import http.server
import ipaddress
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

#: A loaded CI machine can take a while to start a process that imports the whole server.
STARTUP_SECONDS = 90
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RemoteServer:
    base: str
    home: Path
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    @property
    def mcp(self) -> str:
        return f"{self.base}/mcp"

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=20)


@contextmanager
def remote_server(home: Path, *flags: str, env: dict[str, str] | None = None) -> Iterator[RemoteServer]:
    """`trakt-mcp --transport streamable-http --public-url http://127.0.0.1:PORT FLAGS...` until the block ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "trakt_mcp", "--transport", "streamable-http", "--port", str(port)]
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("TRAKT_")}
    environment = {**inherited, "TRAKT_MCP_HOME": str(home), "TRAKT_MCP_PUBLIC_URL": base, **(env or {})}
    process = subprocess.Popen(
        [*command, *flags],
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = RemoteServer(base, home, process)
    listening = threading.Event()

    def read_stderr() -> None:
        for line in process.stderr or ():
            server.log.append(line)
            if "serving MCP at" in line:
                listening.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not listening.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"trakt-mcp did not start: {''.join(server.log)}")
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def register(http: httpx.Client, redirect_uri: str, method: str = "none") -> dict[str, Any]:
    answer = http.post(
        "/register",
        json={"client_name": "refusal test", "redirect_uris": [redirect_uri], "token_endpoint_auth_method": method},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def authorize_query(
    server: RemoteServer, client_id: str, redirect_uri: str, challenge: str, **extra: str
) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-" + secrets.token_hex(4),
        "resource": server.mcp,
        **extra,
    }


def through_sandbox_trakt(http: httpx.Client, page: httpx.Response, account: str) -> httpx.Response:
    """From a page with the "Sign in with Trakt" link: the sandbox Trakt's account chooser, `account` picked, and
    the server's answer where Trakt sent the browser back (its callback)."""
    trakt = html.unescape(re.search(r'id="trakt-sign-in" href="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    fields = dict(re.findall(r'name="(redirect_uri|state)" value="([^"]*)"', http.get(trakt).text))
    form = {name: html.unescape(value) for name, value in fields.items()} | {"account": account}
    approved = http.post(trakt.split("?")[0], data=form)
    assert approved.status_code == 302, approved.text
    return http.get(approved.headers["location"])


def sign_in(
    http: httpx.Client, query: dict[str, str], account: str, capabilities: list[str] | None = None
) -> httpx.URL:
    """Through the pages by plain HTTP (the sign-in page's link, the sandbox Trakt's account button, the consent
    page: `capabilities` ticked, every one offered when None): the URL the person's browser is finally sent to (the
    client's redirect URI with code, state and iss)."""
    page = http.get("/authorize", params=query)
    assert page.status_code == 200, page.text
    back = through_sandbox_trakt(http, page, account)
    assert back.status_code == 303 and back.headers["location"].startswith("/consent?"), back.text
    consent = http.get(back.headers["location"])
    assert consent.status_code == 200, consent.text
    answer = post_form(http, "/consent", consent_form(consent.text, capabilities))
    assert answer.status_code == 302, answer.text
    return httpx.URL(answer.headers["location"])


def post_form(
    http: httpx.Client, path: str, fields: list[tuple[str, str]], headers: dict[str, str] | None = None
) -> httpx.Response:
    """A form post as a browser sends it (repeated names kept in order)."""
    form = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return http.post(path, content=urlencode(fields), headers=form)


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, page
    return html.unescape(found.group(1))


def offered(page: str) -> list[str]:
    """The capabilities the consent page lets the person tick."""
    return [html.unescape(value) for value in re.findall(r'name="capability" value="([^"]+)"', page)]


def consent_form(page: str, capabilities: list[str] | None, decision: str = "allow") -> list[tuple[str, str]]:
    """The consent page's form as the browser sends it: its CSRF token and id, the ticked boxes, the button."""
    ticked = offered(page) if capabilities is None else capabilities
    fields = [("csrf", hidden(page, "csrf")), ("id", hidden(page, "id"))]
    return fields + [("capability", name) for name in ticked] + [("decision", decision)]


def token(http: httpx.Client, **form: str) -> httpx.Response:
    return http.post("/token", data=form)


CALLBACK = "http://127.0.0.1:9/callback"


def signed_in(
    server: RemoteServer,
    http: httpx.Client,
    client_id: str,
    account: str = "alice",
    capabilities: list[str] | None = None,
) -> dict[str, Any]:
    """The person through the pages (ticking `capabilities`, all offered when None), and the code exchanged: the
    token answer (+ client_id, code, verifier)."""
    verifier, challenge = pkce()
    query = authorize_query(server, client_id, CALLBACK, challenge)
    code = sign_in(http, query, account, capabilities).params["code"]
    answer = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK,
        client_id=client_id,
        code_verifier=verifier,
        resource=server.mcp,
    )
    assert answer.status_code == 200, answer.text
    return {**answer.json(), "client_id": client_id, "code": code, "verifier": verifier}


def call_tool(
    http: httpx.Client, access_token: str, name: str, arguments: dict[str, Any] | None = None
) -> httpx.Response:
    """tools/call in the 2026-07-28 era (no handshake, no session): one POST."""
    headers = {
        **MCP_HEADERS,
        "Authorization": f"Bearer {access_token}",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
    }
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    params = {"name": name, "arguments": arguments or {}, "_meta": meta}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    return http.post("/mcp", headers=headers, json=body)


def rpc(http: httpx.Client, access_token: str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One MCP request in the 2026-07-28 era (no handshake): the JSON-RPC answer (`result` or `error`)."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    headers = {
        **MCP_HEADERS,
        "Authorization": f"Bearer {access_token}",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": method,
    }
    if method == "tools/call" and params is not None:
        headers["Mcp-Name"] = str(params["name"])
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**(params or {}), "_meta": meta}}
    answer = http.post("/mcp", headers=headers, json=body)
    assert answer.status_code in (200, 400), answer.text  # a JSON-RPC error (an unknown tool) comes with 400
    text = answer.text
    if text.startswith("event:") or "\ndata:" in text:
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return dict(json.loads(text))


def tool_names(http: httpx.Client, access_token: str) -> set[str]:
    return {tool["name"] for tool in rpc(http, access_token, "tools/list")["result"]["tools"]}


def tool_text(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    text = answer.text
    if text.startswith("event:") or "\ndata:" in text:
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    result = json.loads(text)["result"]
    return "\n".join(block.get("text", "") for block in result["content"])


@dataclass
class DocumentServer:
    url: str
    hits: list[str]
    ca_file: Path


@contextmanager
def https_documents(folder: Path, documents: dict[str, Any]) -> Iterator[DocumentServer]:
    """Serve JSON documents over https on 127.0.0.1 with a throwaway self-signed certificate (its file is what the
    server process is told to trust, SSL_CERT_FILE)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cimd-cert.pem", folder / "cimd-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            document = documents.get(self.path)
            body = json.dumps(document).encode()
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield DocumentServer(f"https://127.0.0.1:{httpd.server_address[1]}", hits, cert_file)
    finally:
        httpd.shutdown()
        httpd.server_close()
