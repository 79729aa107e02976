"""The one rule for what the ops page may serve: a regular file inside ``exports/``, nothing else.

A requested path is refused (the page answers 404) when it is absolute, has an empty, ``.`` or ``..``
segment, a backslash or a NUL, a hidden or temporary name, a depth other than
``<kind>/<date>/[<sub>/]<file>``, or when it resolves (symlinks followed) outside the exports folder
or to anything but a regular file. The path is taken exactly as the server decoded it once:
``%2e%2e`` arrives as ``..`` and is refused; ``%252e`` stays a literal name that does not exist.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: ``<kind>/<date-or-period>/<file>`` or ``<kind>/<date-or-period>/<sub>/<file>``.
DEPTHS = (3, 4)
MAX_REQUEST_LENGTH = 1024


def is_listed_name(name: str) -> bool:
    """Hidden files and the exports' half-written ``*.tmp`` files are neither listed nor served."""
    return bool(name) and not name.startswith(".") and not name.endswith(".tmp")


def resolve_download(exports: Path, requested: str) -> Path | None:
    """The file of ``exports`` that ``requested`` (a relative POSIX path) names, or None if it must not be served."""
    if not requested or len(requested) > MAX_REQUEST_LENGTH or "\x00" in requested or "\\" in requested:
        return None
    parts = requested.split("/")
    if requested.startswith("/") or len(parts) not in DEPTHS or not all(map(is_listed_name, parts)):
        return None  # also refuses "", "." and ".." segments: they start with a dot or are empty
    root = exports.resolve()
    try:
        target = (root / requested).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def open_regular_file(path: Path) -> int | None:
    """An open descriptor on ``path`` if it is still a regular file (not swapped for a symlink since it was checked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd
