"""`facerec web`: serve the page with uvicorn on a socket bound here, so a
port in use is one clear line and `--port 0` can print the port it got.

uvicorn handles Ctrl-C (SIGINT) and SIGTERM: it stops taking requests,
finishes those in flight, runs the app's shutdown (a running index is
stopped, keeping what it stored; uploads are dropped), and returns.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import signal
import socket
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass

from facerec.errors import ServerError
from facerec.usecases.context import Context
from facerec.web import DEFAULT_HOST, DEFAULT_PORT
from facerec.web.security import LOCAL_HOSTS, WILDCARD_HOSTS, Secrets, new_secrets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """A server about to answer: the address to open (with its token) and whether only this machine can reach it."""

    url: str
    host: str
    port: int
    local_only: bool


def is_local(host: str) -> bool:
    """Whether `host` is a loopback address (only this machine can connect)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (`ServerError` when it cannot be had)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServerError(f"cannot listen on {host!r}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if host in WILDCARD_HOSTS else 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServerError(f"port {port} on {host} is in use; pass --port N (--port 0: any free one)") from None
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _url(host: str, port: int, token: str) -> str:
    shown = DEFAULT_HOST if host in WILDCARD_HOSTS else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


def serve(
    ctx: Context,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open_browser: bool = False,
    on_ready: Callable[[Started], None] = lambda s: None,
    keys: Secrets | None = None,
) -> None:
    """Serve the page until Ctrl-C. `on_ready` is called once the socket listens
    (requests made from then on are answered as soon as the server runs)."""
    import uvicorn

    from facerec.web.app import create_app

    sock = bind(host, port)
    keys = keys or new_secrets()
    real_port = sock.getsockname()[1]
    local = is_local(host)
    allowed = None if host in WILDCARD_HOSTS else frozenset(LOCAL_HOSTS | {host}) if local else frozenset({host})
    app = create_app(ctx, keys, allowed_hosts=allowed, prewarm=True)
    started = Started(_url(host, real_port, keys.token), host, real_port, local)
    config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    # Before the address is printed: a SIGTERM sent as soon as it is seen stops the page like Ctrl-C
    # (uvicorn re-raises the signal it stopped for, too).
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        on_ready(started)
        if open_browser:
            threading.Timer(0.5, webbrowser.open, args=(started.url,)).start()
        server.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM, once uvicorn has stopped cleanly for it, ends `facerec web` like Ctrl-C."""
    raise KeyboardInterrupt
