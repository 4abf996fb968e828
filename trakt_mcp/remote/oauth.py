"""This server as an OAuth 2.1 authorization server for MCP clients, on authlib's grant handling.

authlib (a well-kept, widely used OAuth library) validates the requests and builds the responses: the
authorization code grant with PKCE (S256 only, always required), rotating refresh tokens, client authentication
(`client_secret_basic`, `client_secret_post`, `none`), dynamic client registration (RFC 7591), revocation
(RFC 7009) and the `iss` authorization response parameter (RFC 9207). What is ours: storage (`PeopleStore`: codes
and tokens by digest, single use across processes), the `resource` binding (RFC 8707: the exact MCP URL, checked at
the authorization and token endpoints and bound into every token), and refresh-token reuse revoking its family.

authlib is synchronous and framework-neutral: the routes (`trakt_mcp.remote.routes`) read the HTTP request first
and hand a `FormRequest` in; answers come back as an `Answer`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, JsonPayload, JsonRequest, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter

from trakt_mcp.remote.store import ClientRecord, CodeRecord, PeopleStore, TokenRecord, digest

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 30 * 86400
CODE_SECONDS = 60
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
#: Redirect URI schemes that can never be a client's callback.
FORBIDDEN_SCHEMES = ("javascript", "data", "file", "vbscript", "about", "blob")


class InvalidTarget(OAuth2Error):  # type: ignore[misc]
    """RFC 8707: the `resource` is not this server's MCP endpoint."""

    error = "invalid_target"


@dataclass
class Answer:
    """What authlib answered: status, body (dict or text), headers. `location` is how authlib's RFC 9207
    extension adds `iss` to a redirect."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n.lower() != "location"] + [("Location", value)]


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth request already read: query (authorization endpoint) or form (token, revocation) parameters."""

    def __init__(self, method: str, uri: str, headers: Mapping[str, str], values: Mapping[str, str]) -> None:
        # Starlette's headers, case-insensitive: authlib asks for "Authorization".
        super().__init__(method, uri, headers=headers)
        self._values = dict(values)
        self.payload = BasicOAuth2Payload(self._values)

    @property
    def args(self) -> dict[str, str]:
        return self._values

    @property
    def form(self) -> dict[str, str]:
        return self._values


class _Json(JsonPayload):  # type: ignore[misc]
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


class BodyJsonRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, uri: str, headers: Mapping[str, str], data: dict[str, Any]) -> None:
        super().__init__("POST", uri, headers)
        self.payload = _Json(data)


class Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, record: ClientRecord) -> None:
        self.record = record

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.record.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.record.redirect_uris  # exact match, as OAuth 2.1 requires

    def check_client_secret(self, client_secret: str) -> bool:
        expected = self.record.secret_digest
        return expected is not None and secrets.compare_digest(digest(client_secret), expected)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.record.auth_method == "none":
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class Issued:
    """A stored token as authlib's grants see it (the TokenMixin methods they call)."""

    record: TokenRecord

    def check_client(self, client: Client) -> bool:
        return bool(client.get_client_id() == self.record.client_id)

    def get_scope(self) -> str:
        return self.record.scope

    def is_revoked(self) -> bool:
        return self.record.revoked

    def is_expired(self) -> bool:
        return self.record.expires_at <= time.time()


def same_resource(given: str | None, resource: str) -> bool:
    return given is not None and given.rstrip("/") == resource.rstrip("/")


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE is required of every client, and only S256 (plain would let an eavesdropper redeem the code)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise OAuth2Error(
                "PKCE is required: code_challenge with code_challenge_method=S256", error="invalid_request"
            )
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise OAuth2Error("Missing 'code_verifier' (PKCE is required)", error="invalid_request")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: CodeRecord) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: CodeRecord) -> str:
        return "S256"


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    server: MultiUserServer

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        given = self.request.payload.data.get("resource")  # a client that omits it still gets a token bound to us
        if given is not None and not same_resource(given, self.server.resource):
            raise InvalidTarget(f"resource must be {self.server.resource}", redirect_uri=redirect_uri)
        return redirect_uri

    def save_authorization_code(self, code: str, request: FormRequest) -> None:
        data = request.payload.data
        self.server.store.put_code(
            CodeRecord(
                code_digest=digest(code),
                client_id=request.client.get_client_id(),
                username=request.user,
                redirect_uri=data.get("redirect_uri") or request.client.get_default_redirect_uri(),
                code_challenge=data["code_challenge"],
                resource=self.server.resource,
                scope=request.scope or "",
                expires_at=self.server.now() + CODE_SECONDS,
                family=_family_of_code(code),
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> CodeRecord | None:
        """Taken here, once: a second presentation (a replay) finds it used and revokes what it gave."""
        taken = self.server.store.take_code(digest(code), self.server.now())
        if taken == "used":
            self.server.store.revoke_family(_family_of_code(code))
            return None
        if taken is None or taken.client_id != client.get_client_id():
            return None
        return _BoundCode(taken)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        given = self.request.form.get("resource")
        if given is not None and not same_resource(given, self.request.authorization_code.resource):
            raise InvalidTarget(f"resource must be {self.server.resource}")

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Already marked used by `query_authorization_code`."""

    def authenticate_user(self, authorization_code: CodeRecord) -> str:
        return authorization_code.username


class _BoundCode(CodeRecord):
    """A CodeRecord with the two AuthorizationCodeMixin methods authlib calls."""

    def __init__(self, record: CodeRecord) -> None:
        super().__init__(**record.__dict__)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


def _family_of_code(code: str) -> str:
    """Every token from one code shares this family: a replay of the code finds (and revokes) them."""
    return f"code:{digest(code)}"


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: MultiUserServer

    def authenticate_refresh_token(self, refresh_token: str) -> Issued | None:
        rotated = self.server.store.rotate_refresh(digest(refresh_token), self.server.now())
        if rotated == "reused":
            stolen = self.server.store.token(digest(refresh_token), self.server.now())
            if stolen is not None:
                self.server.store.revoke_family(stolen.family)
            return None
        return None if rotated is None else Issued(rotated)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        given = self.request.form.get("resource")
        if given is not None and not same_resource(given, self.request.refresh_token.record.resource):
            raise InvalidTarget(f"resource must be {self.server.resource}")

    def authenticate_user(self, refresh_token: Issued) -> str:
        return refresh_token.record.username

    def revoke_old_credential(self, refresh_token: Issued) -> None:
        """Already marked used by `authenticate_refresh_token` (rotation)."""


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    """RFC 7591, open to anyone (the routes rate-limit it). A client asking for `none` is public (PKCE only);
    any other gets a secret for `client_secret_basic` or `client_secret_post`."""

    server: MultiUserServer

    def authenticate_token(self, request: Any) -> bool:
        return True

    def get_server_metadata(self) -> dict[str, Any]:
        return self.server.metadata()

    def generate_client_info(self, request: Any) -> dict[str, Any]:
        """A public client (`none`) gets no secret at all."""
        info: dict[str, Any] = super().generate_client_info(request)
        if request.payload.data.get("token_endpoint_auth_method") == "none":
            info.pop("client_secret", None)
            info.pop("client_secret_expires_at", None)
        return info

    def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any) -> Client:
        uris = client_metadata.get("redirect_uris") or []
        problem = redirect_uri_problem(uris)
        if problem:
            raise OAuth2Error(problem, error="invalid_redirect_uri", status_code=400)
        method = client_metadata.get("token_endpoint_auth_method") or "client_secret_basic"
        if method not in AUTH_METHODS:
            raise OAuth2Error(
                f"token_endpoint_auth_method must be one of {AUTH_METHODS}", error="invalid_client_metadata"
            )
        public = method == "none"
        record = ClientRecord(
            client_id=client_info["client_id"],
            name=str(client_metadata.get("client_name") or "an unnamed app")[:100],
            redirect_uris=tuple(uris),
            auth_method=method,
            registration="dcr",
            created_at=self.server.now(),
            secret_digest=None if public else digest(client_info["client_secret"]),
            registered_from=getattr(request, "registered_from", ""),
        )
        self.server.store.put_client(record)
        client_metadata["token_endpoint_auth_method"] = method
        return Client(record)


def redirect_uri_problem(uris: Any) -> str | None:
    if not isinstance(uris, list) or not uris or not all(isinstance(uri, str) for uri in uris):
        return "redirect_uris must be a non-empty list of URLs"
    for uri in uris:
        scheme = uri.split(":", 1)[0].lower()
        if ":" not in uri or scheme in FORBIDDEN_SCHEMES or "#" in uri:
            return f"redirect URI {json.dumps(uri)} is not allowed"
    return None


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS
    server: MultiUserServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Issued | None:
        record = self.server.store.token(digest(token_string), self.server.now())
        return None if record is None else Issued(record)

    def revoke_token(self, token: Issued, request: Any) -> None:
        """Revoking a refresh token ends its family (the access tokens it gave too)."""
        if token.record.kind == "refresh":
            self.server.store.revoke_family(token.record.family)
        else:
            self.server.store.revoke_token(token.record.token_digest)


class Issuer(IssuerParameter):  # type: ignore[misc]
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class MultiUserServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, store: PeopleStore, issuer: str, resource: str, now: Callable[[], float] = time.time) -> None:
        super().__init__(scopes_supported=None)
        self.store, self.issuer, self.resource, self.now = store, issuer, resource, now
        self.register_grant(CodeGrant, [S256Only(required=True)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Registration)
        self.register_endpoint(Revocation)
        self.issuer_parameter = Issuer(issuer)
        self.register_extension(self.issuer_parameter)
        self.register_token_generator("default", self._generate)

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization-server metadata."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "registration_endpoint": f"{self.issuer}/register",
            "revocation_endpoint": f"{self.issuer}/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
        }

    def query_client(self, client_id: str) -> Client | None:
        record = self.store.client(client_id)
        return None if record is None else Client(record)

    def _generate(
        self, grant_type: str, client: Client, user: Any = None, scope: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """Opaque tokens; `scope` is the capabilities the person granted (their consent; guard.capabilities)."""
        return {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": secrets.token_urlsafe(32),
            "scope": scope or "",
        }

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        source = request.authorization_code or request.refresh_token.record
        now = self.now()
        common = {
            "client_id": request.client.get_client_id(),
            "username": request.user,
            "resource": source.resource,
            "scope": source.scope,
            "family": source.family,
        }
        self.store.put_token(
            TokenRecord(digest(token["access_token"]), "access", expires_at=now + ACCESS_TOKEN_SECONDS, **common)
        )
        self.store.put_token(
            TokenRecord(digest(token["refresh_token"]), "refresh", expires_at=now + REFRESH_TOKEN_SECONDS, **common)
        )

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request  # the routes build it, having read the body

    def create_json_request(self, request: BodyJsonRequest) -> BodyJsonRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return Answer(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal subscribers."""
