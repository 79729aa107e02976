"""A throw-away PostgreSQL server for the tests: its own cluster in a temporary folder, on a free local port.

The server's programs come from the system's packages (``.ci/run`` installs Debian's ``postgresql``). As root,
the cluster is made and run by the ``postgres`` user (PostgreSQL refuses to run as root). Outside CI, a machine
without the programs skips the tests that need it, saying why; in CI (``CI=true``) they must run.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: the newest installed version."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(argv: list[str], as_user: str | None) -> None:
    if as_user:
        argv = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", as_user, "--", *argv]
    subprocess.run(argv, check=True, capture_output=True, text=True)


@contextmanager
def postgres_server() -> Iterator[dict[str, str]]:
    """Start a server; yields the libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE) that reaches it."""
    bin_dir = binaries()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL's initdb was not found (Debian: apt-get install postgresql)")
    as_user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="lifecycle-pg-"))
    data = root / "data"
    if as_user:
        entry = pwd.getpwnam(as_user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    _run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "lifecycle", "-E", "UTF8",
          "--no-locale"], as_user)
    _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "server.log"), "-o",
          f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
          "start"], as_user)
    try:
        env = {"PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": "lifecycle", "PGDATABASE": "postgres"}
        yield env
    finally:
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], as_user)
        shutil.rmtree(root, ignore_errors=True)
