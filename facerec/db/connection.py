"""The connection to PostgreSQL: opening it (starting the embedded server when
`DATABASE_URL` is unset), transactions, and running a transaction again after
a deadlock or a server restart. Messages never show the password.

A connection that sat idle (the menu waiting for the user) is checked before
its next transaction; one found dead (the server was restarted, stopped or
killed meanwhile) is opened again, and the embedded server, if it is ours,
started again first. A connection lost because a server process crashed
(see `EmbeddedServer.crash_since`) is reported with the cause and not tried
again: the same work would crash it again.

Only `facerec.db` speaks SQL; the stores (`people`, `library`) run their
queries through a `Connection`'s transactions.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg2
import psycopg2.extensions
from pgvector.psycopg2 import register_vector

from facerec.config import Settings
from facerec.db.server import EmbeddedServer
from facerec.errors import DatabaseConflict, DatabaseCrashed, DatabaseError, InvalidNameError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5
RECONNECT_S = 20.0
"""How long a lost connection is tried again (a server restart takes a few seconds)."""
RETRY_ATTEMPTS = 5
"""How many times a transaction aborted by a deadlock or a dropped connection is run."""
IDLE_CHECK_S = 1.0
"""A connection unused for longer than this is checked (`SELECT 1`, ~0.1 ms on the
embedded server's socket) before its next transaction."""

T = TypeVar("T")


def describe_url(url: str) -> str:
    """`user@host:port/db` for messages: never the password."""
    try:
        p = psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        return "the DATABASE_URL server (unparseable URL)"
    host = p.get("host", "localhost")
    port = f":{p['port']}" if "port" in p else ""
    user = f"{p['user']}@" if "user" in p else ""
    return f"{user}{host}{port}/{p.get('dbname', '')}"


def _redact(message: str, url: str) -> str:
    """Remove the password of `url` from `message`, whatever the driver put in it."""
    try:
        password = psycopg2.extensions.parse_dsn(url).get("password")
    except psycopg2.ProgrammingError:
        password = None
    if password:
        message = message.replace(password, "***")
    return re.sub(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@", r"\1***@", message)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Connection:
    """A connection to the facerec database (see `facerec.db.Database.open`)."""

    def __init__(
        self,
        conn: psycopg2.extensions.connection,
        server: EmbeddedServer | None = None,
        connect: Callable[[], psycopg2.extensions.connection] | None = None,
    ) -> None:
        self.conn = conn
        self._server = server
        self._connect = connect
        self._vector_registered = False
        self._last_used = time.monotonic()
        self._log_mark = server.log_size() if server is not None else 0

    # -- connection ---------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings, on_message: Callable[[str], None] | None = None) -> Connection:
        """Connect, starting the embedded server first if `DATABASE_URL` is unset
        (`on_message` hears what it says: see `EmbeddedServer`)."""
        server = None
        if settings.database_url:
            url = settings.database_url
            where = describe_url(url)

            def connect() -> psycopg2.extensions.connection:
                try:
                    return psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT_S, application_name="facerec")
                except psycopg2.OperationalError as exc:
                    raise DatabaseError(f"cannot connect to {where}: {_redact(first_line(exc), url)}") from None
                except psycopg2.ProgrammingError as exc:
                    detail = _redact(first_line(exc), url)
                    raise DatabaseError(f"DATABASE_URL is not a valid connection string: {detail}") from None

        else:
            server = EmbeddedServer(settings.data_dir, on_message)
            info = server.acquire()

            def connect() -> psycopg2.extensions.connection:
                try:
                    return psycopg2.connect(
                        host=info.host,
                        port=info.port,
                        user=info.user,
                        dbname=info.dbname,
                        connect_timeout=CONNECT_TIMEOUT_S,
                        application_name="facerec",
                    )
                except psycopg2.OperationalError as exc:
                    raise DatabaseError(f"cannot connect to the embedded database: {first_line(exc)}") from None

        try:
            conn = connect()
        except BaseException:
            if server is not None:
                server.release()
            raise
        return cls(conn, server, connect)

    def register_vector(self) -> None:
        """Teach the driver pgvector's types (once the extension exists: after `migrate`)."""
        register_vector(self.conn)
        self.conn.rollback()  # it ran a query: end that transaction (the types stay registered)
        self._vector_registered = True

    def close(self) -> None:
        """Close the connection; the embedded server stops when its last user closes."""
        try:
            self.conn.close()
        finally:
            if self._server is not None:
                self._server.release()
                self._server = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor whose statements commit together, or not at all.

        A connection found closed (the server restarted since the last
        transaction) is opened again first. `DatabaseConflict` means
        PostgreSQL aborted the transaction to break a deadlock; `retrying`
        runs such work again.
        """
        self._check_alive()
        try:
            with self.conn:
                with self.conn.cursor() as cur:
                    yield cur
            self._last_used = time.monotonic()
        except psycopg2.extensions.TransactionRollbackError as exc:
            raise DatabaseConflict(
                f"the database aborted a change that collided with another facerec process ({first_line(exc)}); "
                "nothing was written, run it again"
            ) from None
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            crash = self._crash() if self.conn.closed else None
            if crash is not None:
                raise DatabaseCrashed(crash) from None
            raise DatabaseError(f"database connection lost: {first_line(exc)}") from None
        except UnicodeEncodeError:
            # A parameter with undecodable bytes: a name typed (or a file named) in another encoding.
            raise InvalidNameError("a name must be valid UTF-8 text") from None

    def retrying(self, work: Callable[[psycopg2.extensions.cursor], T], attempts: int = RETRY_ATTEMPTS) -> T:
        """`work(cursor)` in one transaction, run again if PostgreSQL aborts it to
        break a deadlock with another process, or if the connection drops (the
        server restarted): then it reconnects first. `work` must be safe to run
        twice (the whole transaction is rolled back or was committed once)."""
        for attempt in range(1, attempts + 1):
            if self.conn.closed:
                self._reconnect()  # outside the `try`: a server that does not come back ends here
            try:
                with self.transaction() as cur:
                    return work(cur)
            except DatabaseConflict:
                if attempt == attempts:
                    raise
                log.info("transaction aborted by a conflict with another process; running it again")
                time.sleep(random.uniform(0.01, 0.1) * attempt)
            except DatabaseCrashed:
                raise
            except DatabaseError:
                if not self.conn.closed or self._connect is None or attempt == attempts:
                    raise
                log.warning("database connection lost; reconnecting")
        raise AssertionError("unreachable")

    def _crash(self) -> str | None:
        """Why the embedded server lost this connection, if a server process
        crashed since the last look (None for a stop, a restart, or DATABASE_URL)."""
        if self._server is None:
            return None
        found = self._server.crash_since(self._log_mark)
        self._log_mark = self._server.log_size()
        return found

    def _check_alive(self) -> None:
        """Reconnect first if the connection is closed, or was idle and no longer answers."""
        if self.conn.closed:
            self._reconnect()
            return
        idle = self.conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
        if not idle or time.monotonic() - self._last_used < IDLE_CHECK_S:
            return
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT 1")
            self.conn.rollback()
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            log.warning("database connection lost; reconnecting")
            self._reconnect()

    def _reconnect(self) -> None:
        """Open the connection again, trying for up to `RECONNECT_S` seconds; the
        embedded server, if ours and stopped, is started again first."""
        if self._connect is None:
            raise DatabaseError("database connection lost")
        deadline = time.monotonic() + RECONNECT_S
        while True:
            try:
                if self._server is not None and not self._server.is_running():
                    log.warning("the embedded database had stopped; starting it again")
                    self._server.ensure_running()
                conn = self._connect()
                if self._vector_registered:
                    register_vector(conn)
                    conn.rollback()
                break
            except (DatabaseError, psycopg2.Error) as exc:
                if time.monotonic() >= deadline:
                    raise DatabaseError(f"database connection lost, not back in {RECONNECT_S:.0f} s: {exc}") from None
                time.sleep(0.5)
        try:
            self.conn.close()
        except psycopg2.Error:
            pass
        self.conn = conn
        self._last_used = time.monotonic()
        log.info("reconnected to the database")
