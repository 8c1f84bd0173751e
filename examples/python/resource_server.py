#!/usr/bin/env python3
"""A resource server that accepts Seed STS access tokens, verified with PyJWT (Debian: python3-jwt).

Every request must carry `Authorization: Bearer <token>`. The token is checked as RFC 9068 says a
resource server checks a JWT access token: its `typ` header (at+jwt), its signature against the
STS's published keys (fetched from the JWKS and cached, refetched for a key id not seen yet), its
issuer, its audience (this server), its expiry and issue time, and the scope the server requires.
The answers follow RFC 6750: 401 with `WWW-Authenticate: Bearer error="invalid_token"` for a token
that fails, 403 with `error="insufficient_scope"` for a good token without the scope.

This checks signatures and claims only. A token revoked before it expires stays valid here until
it expires (minutes): a server that must refuse revoked tokens at once asks the STS's introspection
endpoint, or uses the Node verifier of @seed-sts/client, which follows the revocation stream.

Configuration (environment):
  STS_ISSUER        the STS's issuer, e.g. https://sts.example.org (required)
  STS_AUDIENCE      this server's audience, as the grants name it (required)
  STS_JWKS_URL      default: <STS_ISSUER>/.well-known/jwks.json
  REQUIRED_SCOPE    a scope every request needs (optional)
  PORT              default 8000; 0 picks a free port. The chosen port is printed on stdout.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

ISSUER = os.environ["STS_ISSUER"]
AUDIENCE = os.environ["STS_AUDIENCE"]
JWKS_URL = os.environ.get("STS_JWKS_URL", ISSUER.rstrip("/") + "/.well-known/jwks.json")
REQUIRED_SCOPE = os.environ.get("REQUIRED_SCOPE") or None
# The algorithms Seed STS signs with; never taken from the token's own header.
ALGORITHMS = ["ES256", "EdDSA"]
# Keys cached five minutes; a token signed with a key id not in the cache makes PyJWT refetch.
jwks = jwt.PyJWKClient(JWKS_URL, cache_keys=True, lifespan=300)


class Refused(Exception):
    def __init__(self, status, error, description):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def verify(authorization):
    """The token's claims, or Refused with the RFC 6750 answer."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, None, "a bearer token is required")
    try:
        header = jwt.get_unverified_header(token)
        if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise jwt.InvalidTokenError("not an access token (typ is not at+jwt)")
        key = jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=30,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )
    except (jwt.PyJWTError, ValueError) as error:
        raise Refused(401, "invalid_token", str(error)) from None
    scopes = str(claims.get("scope", "")).split()
    if REQUIRED_SCOPE is not None and REQUIRED_SCOPE not in scopes:
        raise Refused(403, "insufficient_scope", f"the token lacks the scope {REQUIRED_SCOPE}")
    return claims, scopes


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            claims, scopes = verify(self.headers.get("Authorization"))
        except Refused as refused:
            challenge = 'Bearer realm="example"'
            if refused.error is not None:
                description = refused.description.replace('"', "'")
                challenge += f', error="{refused.error}", error_description="{description}"'
            if refused.status == 403:
                challenge += f', scope="{REQUIRED_SCOPE}"'
            self.answer(refused.status, {"error": refused.error or "unauthorized"}, {"WWW-Authenticate": challenge})
            return
        self.answer(200, {"subject": claims["sub"], "scopes": scopes, "path": self.path})

    def answer(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        # Never log the Authorization header; the request line is enough.
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
