"""An OpenID Connect provider over real HTTP on 127.0.0.1, for tests of single sign-on.

It serves discovery, JWKS (an RSA key made here), an authorization endpoint that sends the browser
straight back with a code (the test says beforehand whose claims the next sign-in carries), a token
endpoint that checks the client, the code, the redirect URI and the PKCE verifier and returns an
RS256 id_token, and a userinfo endpoint. It can be told to misbehave: sign with another key, name
another audience, or claim another issuer in its discovery document.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "oncall-test"
CLIENT_SECRET = "s3cret-never-shown-7f3a9c"
KID = "test-key-1"


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Grant:
    claims: dict
    nonce: str
    redirect_uri: str
    challenge: str


@dataclass
class IssuerState:
    claims: dict = field(default_factory=dict)  # the claims the next sign-in carries
    sign_with_other_key: bool = False
    audience: str = CLIENT_ID
    discovery_issuer: str = ""  # when set: the discovery document names this issuer instead
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, dict] = field(default_factory=dict)
    token_requests: list[dict] = field(default_factory=list)
    discovery_reads: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        routes = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/authorize": self._authorize,
            "/userinfo": self._userinfo,
        }
        handler = routes.get(parts.path)
        if handler is None:
            self._json(404, {"error": "not_found"})
        else:
            handler(query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path == "/token":
            self._token(form)
        else:
            self._json(404, {"error": "not_found"})

    def _discovery(self, query: dict) -> None:
        base = self.server.issuer
        self.server.state.discovery_reads += 1
        self._json(
            200,
            {
                "issuer": self.server.state.discovery_issuer or base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            },
        )

    def _jwks(self, query: dict) -> None:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.server.key.public_key(), as_dict=True)
        self._json(200, {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]})

    def _authorize(self, query: dict) -> None:
        state = self.server.state
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            self._json(400, {"error": "invalid_request"})
            return
        code = secrets.token_urlsafe(16)
        state.grants[code] = Grant(
            dict(state.claims),
            query.get("nonce", ""),
            query.get("redirect_uri", ""),
            query.get("code_challenge", ""),
        )
        back = {"code": code, "state": query.get("state", "")}
        self._redirect(f"{query.get('redirect_uri', '')}?{urlencode(back)}")

    def _token(self, form: dict) -> None:
        state = self.server.state
        state.token_requests.append(form)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            self._json(401, {"error": "invalid_client"})
            return
        grant = state.grants.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant.redirect_uri:
            self._json(400, {"error": "invalid_grant"})
            return
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
            return
        access = secrets.token_urlsafe(16)
        state.tokens[access] = grant.claims
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 300}
        self._json(200, {**body, "id_token": self._id_token(grant)})

    def _id_token(self, grant: Grant) -> str:
        state, now = self.server.state, int(time.time())
        payload = {
            **grant.claims,
            "iss": self.server.issuer,
            "aud": state.audience,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
        }
        key = _rsa_key() if state.sign_with_other_key else self.server.key
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KID})

    def _userinfo(self, query: dict) -> None:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = self.server.state.tokens.get(token)
        if claims is None:
            self._json(401, {"error": "invalid_token"})
        else:
            self._json(200, claims)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.issuer = f"http://127.0.0.1:{self.server_address[1]}"
        self.key = _rsa_key()
        self.state = IssuerState()


class FakeIssuer:
    """Run the provider in a thread until stopped; `issuer` is its URL."""

    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return self._server.issuer

    @property
    def state(self) -> IssuerState:
        return self._server.state

    def reset(self) -> None:
        """Forget grants and misbehaviour from an earlier test."""
        self._server.state = IssuerState()

    def next_sign_in(self, **claims: Any) -> None:
        """Make the next authorization carry these claims (`sub` is required)."""
        self._server.state.claims = claims

    def __enter__(self) -> FakeIssuer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
