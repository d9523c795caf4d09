"""Who may use the page: whoever has the token `facerec web` printed.

- A random token is made at every start. The printed address carries it once
  (`/?token=...`); that request gets it back as a cookie (HttpOnly,
  SameSite=Strict) and is redirected to the same address without it, so the
  token leaves the address bar and the history. Every request after that needs
  the cookie: without it, 403 and no data.
- Every change is a POST that carries the CSRF token (a hidden form field),
  derived from the token; a POST from another site (its Origin or
  Sec-Fetch-Site says so) is refused before it is read. GET, HEAD and POST
  are the only methods.
- The Host header must name this machine as the server was started for it
  (DNS rebinding: a page of another site that resolves its name to 127.0.0.1
  gets 400).
- Every answer says: no caching unless the route says otherwise (thumbnails),
  no referrer, no framing, scripts, styles, images and connections from this
  server only (Content-Security-Policy), so the page cannot load anything from
  anywhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
METHODS = ("GET", "HEAD", "POST")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})

FORBIDDEN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>facerec</title></head>
<body><h1>403: this page needs its token</h1>
<p>Open the address that <code>facerec web</code> printed when it started (it ends in <code>?token=...</code>).
Each start makes a new token.</p></body></html>"""


@dataclass(frozen=True)
class Secrets:
    """The token of one server start and the CSRF token derived from it."""

    token: str

    @property
    def csrf(self) -> str:
        return hmac.new(self.token.encode(), b"facerec csrf", hashlib.sha256).hexdigest()

    def is_token(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.token.encode())

    def is_csrf(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.csrf.encode())


def new_secrets() -> Secrets:
    """A fresh random token (256 bits), like Jupyter's."""
    return Secrets(secrets.token_urlsafe(32))


def cookie_name(port: int | None) -> str:
    """One cookie per port: two servers on one machine do not log each other out."""
    return f"facerec_token_{port or 0}"


def host_name(host_header: str) -> str:
    """The host part of a Host header: `127.0.0.1:8765` -> `127.0.0.1`, `[::1]:80` -> `::1`."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class TokenGuard:
    """ASGI middleware doing all of the above before any route runs.

    `allowed_hosts`: the names the Host header may carry (None: any, for a
    server listening on every address).
    """

    def __init__(self, app: ASGIApp, keys: Secrets, allowed_hosts: frozenset[str] | None) -> None:
        self.app = app
        self.keys = keys
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # websockets: not used by the page
            return
        send = _with_headers(send)
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: Headers) -> Response | None:
        if self.allowed_hosts is not None and host_name(headers.get("host", "")) not in self.allowed_hosts:
            return PlainTextResponse("unknown host name: open the address facerec web printed", status_code=400)
        method = scope["method"]
        if method not in METHODS:
            return PlainTextResponse("method not allowed", status_code=405, headers={"allow": ", ".join(METHODS)})
        port = scope.get("server", (None, None))[1] if scope.get("server") else None
        name = cookie_name(port)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if method == "GET" and self.keys.is_token(query.get("token")):
            rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
            target = scope.get("path", "/") + (f"?{rest}" if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(name, self.keys.token, httponly=True, samesite="strict", path="/")
            return response
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no cookie
            cookies = SimpleCookie()
        sent = cookies.get(name)
        if not self.keys.is_token(sent.value if sent is not None else None):
            return HTMLResponse(FORBIDDEN_PAGE, status_code=403)
        if method == "POST" and _cross_site(headers):
            return PlainTextResponse("refused: a change requested by another site", status_code=403)
        return None


def _cross_site(headers: Headers) -> bool:
    """A request the browser says comes from another site. Sec-Fetch-Site is
    what browsers send today; Origin is checked only without it (with
    `Referrer-Policy: no-referrer` a same-origin form post says `Origin: null`)."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is not None and origin != "null":
        return origin.split("://", 1)[-1] != headers.get("host", "")
    return False


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            raw = list(message.get("headers", []))
            present = {k.lower() for k, _ in raw}
            for key, value in HEADERS.items():
                if key.encode() not in present:
                    raw.append((key.encode(), value.encode()))
            if b"cache-control" not in present:
                raw.append((b"cache-control", b"no-store"))
            message = {**message, "headers": raw}
        await send(message)

    return sending
