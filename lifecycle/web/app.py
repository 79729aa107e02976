"""The ops download page as a Starlette app (``create_app``) and its uvicorn server (``serve``).

Routes: ``/`` the export files of one date, ``/download/<kind>/<date>/[<sub>/]<file>`` one file,
``/login`` and ``/logout``. Every route but the login needs a session; every refusal of a path is a 404.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifecycle.settings import Settings
from lifecycle.web.audit import AuditLog
from lifecycle.web.auth import FAILURE_WINDOW_SECONDS, LoginThrottle, safe_next, session_secret
from lifecycle.web.listing import by_kind, folders_for, human_size, keys, latest_key, scan
from lifecycle.web.safepath import open_regular_file, resolve_download
from lifecycle.web.users import UserStore, hash_password

DEV_USER = "dev"
SESSION_COOKIE = "lifecycle_ops"
CHUNK = 256 * 1024
#: No page of this site needs scripts, frames, images or other origins.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # pages and files hold personal data: no copy in a browser or proxy cache
}

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.PackageLoader("lifecycle.web", "templates"), autoescape=True, undefined=jinja2.StrictUndefined))


@dataclass
class OpsPage:
    """What the handlers share: the folder served, who may log in, the audit log."""

    exports: Path
    users: UserStore
    audit: AuditLog
    throttle: LoginThrottle
    dev: bool


def create_app(settings: Settings, *, dev_password: str | None = None) -> Starlette:
    """The page for ``settings.home``; ``dev_password`` adds the in-memory ``dev`` user of ``serve --dev``."""
    extra = {DEV_USER: hash_password(dev_password)} if dev_password else {}
    ops = OpsPage(
        exports=settings.exports,
        users=UserStore(settings.ops_users, extra),
        audit=AuditLog(settings.serve_state / "audit.jsonl"),
        throttle=LoginThrottle(),
        dev=dev_password is not None,
    )
    app = Starlette(
        routes=[
            Route("/", exports_page, name="exports"),
            Route("/login", login_page, methods=["GET"], name="login"),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"], name="logout"),
            Route("/download/{path:path}", download, name="download"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SessionMiddleware, secret_key=session_secret(settings.serve_state),
                       session_cookie=SESSION_COOKIE, max_age=settings.serve_session_hours * 3600,
                       same_site="lax", https_only=settings.serve_https_only),
        ],
        max_body_size=64 * 1024,  # the login form is the only body this site takes
    )
    app.state.ops = ops
    return app


def serve(settings: Settings, *, host: str, port: int, dev_password: str | None = None) -> None:
    import uvicorn

    uvicorn.run(create_app(settings, dev_password=dev_password), host=host, port=port, server_header=False)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every response (a plain ASGI middleware: it leaves streaming alone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- handlers ----------------------------------------------------------------------------

async def exports_page(request: Request) -> Response:
    ops = _ops(request)
    user = _user(request)
    if user is None:
        return _to_login(request)
    folders = await run_in_threadpool(scan, ops.exports)
    key = request.query_params.get("date") or latest_key(folders) or ""
    return _render(request, "exports.html", user=user, offered=keys(folders), key=key,
                   groups=by_kind(folders_for(folders, key)), size=human_size)


async def login_page(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if _user(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _render(request, "login.html", user=None, next=target, username="", error="")


async def login(request: Request) -> Response:
    ops = _ops(request)
    form = await request.form()
    name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target, client = safe_next(str(form.get("next", "/"))), _client(request)
    if ops.throttle.blocked(client, name):
        ops.audit.record("login_refused", user=name, client=client, reason="too many wrong passwords")
        return _render(request, "login.html", status_code=429, user=None, next=target, username=name,
                       error=f"Too many wrong passwords: try again in {FAILURE_WINDOW_SECONDS // 60} minutes.")
    if not await run_in_threadpool(ops.users.verify, name, password):
        ops.throttle.failed(client, name)
        ops.audit.record("login_failed", user=name, client=client)
        return _render(request, "login.html", status_code=401, user=None, next=target, username=name,
                       error="Wrong user name or password.")
    ops.throttle.succeeded(client, name)
    request.session.clear()
    request.session.update({"user": name, "since": datetime.now(UTC).isoformat(timespec="seconds")})
    ops.audit.record("login", user=name, client=client)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    user = request.session.get("user")
    request.session.clear()
    if user:
        _ops(request).audit.record("logout", user=user, client=_client(request))
    return RedirectResponse(request.url_for("login").path, status_code=303)


async def download(request: Request) -> Response:
    """One export file, recorded in the audit log (who, which, size, SHA-256) before its first byte leaves."""
    ops = _ops(request)
    user = _user(request)
    if user is None:
        return _to_login(request)
    requested = request.path_params["path"]
    target = resolve_download(ops.exports, requested)
    fd = open_regular_file(target) if target is not None else None
    if target is None or fd is None:
        ops.audit.record("download_refused", user=user, client=_client(request), file=requested)
        return PlainTextResponse("Not Found", status_code=404)
    size, sha256 = await run_in_threadpool(_measure, fd)
    served = target.relative_to(ops.exports.resolve()).as_posix()
    ops.audit.record("download", user=user, client=_client(request), file=requested, bytes=size, sha256=sha256,
                     **({"resolved": served} if served != requested else {}))
    name = requested.replace("/", "_")  # autocharge_2026-11-20_requests.csv: the date stays in the saved name
    return StreamingResponse(_chunks(fd, size), media_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                             headers={"Content-Disposition": _attachment(name), "Content-Length": str(size)})


# --- helpers -----------------------------------------------------------------------------

def _ops(request: Request) -> OpsPage:
    return request.app.state.ops


def _user(request: Request) -> str | None:
    """The logged-in user, if the session names one still in the users file (a removed user is out at once)."""
    name = request.session.get("user")
    if isinstance(name, str) and _ops(request).users.exists(name):
        return name
    request.session.clear()
    return None


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _to_login(request: Request) -> Response:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{request.url_for('login').path}?{urlencode({'next': wanted})}", status_code=303)


def _render(request: Request, template: str, *, status_code: int = 200, **context: object) -> Response:
    context.update(prefix=request.scope.get("root_path", ""), dev=_ops(request).dev)
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def _measure(fd: int) -> tuple[int, str]:
    """Size and SHA-256 of the open file, read once; then back to its start for sending the same bytes."""
    digest, size = hashlib.sha256(), 0
    while chunk := os.read(fd, CHUNK):
        digest.update(chunk)
        size += len(chunk)
    os.lseek(fd, 0, os.SEEK_SET)
    return size, digest.hexdigest()


def _chunks(fd: int, size: int) -> Iterator[bytes]:
    """The file's bytes from the descriptor that was measured: a night rewriting the file (a rename) changes nothing."""
    try:
        remaining = size
        while remaining > 0 and (chunk := os.read(fd, min(CHUNK, remaining))):
            remaining -= len(chunk)
            yield chunk
    finally:
        os.close(fd)


def _attachment(name: str) -> str:
    quoted = quote(name, safe="")
    return f'attachment; filename="{name}"' if quoted == name else f"attachment; filename*=utf-8''{quoted}"
