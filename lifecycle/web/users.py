"""The users of the ops page and their password hashes, kept in ``<home>/ops_users.toml``.

Passwords are hashed with the standard library's scrypt (memory-hard, salted per user) so the
page needs no native crypto dependency; the file holds hashes only and is written 0600.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tomllib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

#: scrypt cost: 2**14 × 8 uses 16 MiB and ~50 ms per check, OWASP's minimum for scrypt.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MIN_PASSWORD_LENGTH = 12
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

HEADER = """\
# Users of the ops download page (`lifecycle serve`), written by
#   lifecycle serve --add-user NAME      (adds the user or changes the password)
#   lifecycle serve --remove-user NAME
# Each password is kept as a salted scrypt hash (Python's hashlib), never in clear. Keep this file 0600.
"""


class UsersFileError(ValueError):
    """The users file cannot be read as users and hashes."""


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$key`` (base64): the parameters travel with the hash so they can be raised later."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=KEY_BYTES)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)])


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; compared in constant time."""
    try:
        algorithm, n, r, p, salt, key = encoded.split("$")
        if algorithm != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@cache
def _unknown_user_hash() -> str:
    """Checked against when the user name is unknown, so a wrong name costs as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def check_user_name(name: str) -> str:
    if not USER_NAME.fullmatch(name):
        raise ValueError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
                         "letter or digit")
    return name


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


def read_users(path: Path) -> dict[str, str]:
    """{user name: password hash} from the users file ({} when there is none)."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsersFileError(f"{path}: {exc}") from None
    unknown = set(data) - {"users"}
    if unknown:
        raise UsersFileError(f"{path}: unknown key(s) {sorted(unknown)}; only [users.<name>] tables belong here")
    users = {}
    for name, entry in data.get("users", {}).items():
        encoded = entry.get("password_hash") if isinstance(entry, dict) else None
        if not USER_NAME.fullmatch(name) or not isinstance(encoded, str) or not encoded.startswith("scrypt$"):
            raise UsersFileError(f"{path}: user {name!r} needs a valid name and a password_hash written by "
                                 "`lifecycle serve --add-user`")
        users[name] = encoded
    return users


def write_user(path: Path, name: str, password: str) -> None:
    """Add ``name`` (or change its password) in the users file, written atomically and 0600."""
    entries = _read_entries(path)
    entries[check_user_name(name)] = {"password_hash": hash_password(check_new_password(password)),
                                      "changed": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    _write_entries(path, entries)


def remove_user(path: Path, name: str) -> bool:
    """Remove ``name`` from the users file; False when it was not there."""
    entries = _read_entries(path)
    if entries.pop(name, None) is None:
        return False
    _write_entries(path, entries)
    return True


def _read_entries(path: Path) -> dict[str, dict[str, str]]:
    read_users(path)  # refuse to rewrite a file we cannot read
    if not path.exists():
        return {}
    return dict(tomllib.loads(path.read_text(encoding="utf-8")).get("users", {}))


def _write_entries(path: Path, entries: dict[str, dict[str, str]]) -> None:
    lines = [HEADER]
    for name, entry in sorted(entries.items()):
        lines.append(f"\n[users.{json.dumps(name)}]\n")  # a JSON string of these characters is a TOML string
        lines.extend(f"{key} = {json.dumps(str(value))}\n" for key, value in entry.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("".join(lines))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class UserStore:
    """The users file, re-read when it changes, so ``--add-user``/``--remove-user`` apply without a restart.

    ``extra`` holds users that live only in this process (the one-time ``dev`` user of ``--dev``).
    """

    def __init__(self, path: Path, extra: dict[str, str] | None = None) -> None:
        self.path = path
        self.extra = dict(extra or {})
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, str] | None = None

    def _current(self) -> dict[str, str]:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if self._users is None or stamp != self._stamp:
            self._users, self._stamp = read_users(self.path), stamp
        return {**self._users, **self.extra}

    def names(self) -> list[str]:
        return sorted(self._current())

    def exists(self, name: str) -> bool:
        return name in self._current()

    def verify(self, name: str, password: str) -> bool:
        encoded = self._current().get(name)
        matches = verify_password(password, encoded or _unknown_user_hash())
        return matches and encoded is not None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
