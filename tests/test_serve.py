"""The ops download page (``lifecycle serve``): login, listing, downloads, the audit log, path safety, a real browser."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from lifecycle.cli import main
from lifecycle.settings import Settings, parse_settings
from lifecycle.web.app import create_app
from lifecycle.web.auth import safe_next
from lifecycle.web.listing import control_lines, keys, latest_key, scan
from lifecycle.web.safepath import resolve_download
from lifecycle.web.users import read_users, verify_password, write_user

CHROMIUM = Path("/usr/lib/chromium/chromium")
PASSWORD = "correct horse battery"
SECRET = "customer list that must never leave\n"

#: A small exports tree as the nightly run and fulfillment write it: {path under exports/: text}.
TREE = {
    "autocharge/2026-11-19/requests.csv": "request_key,amount,currency\nAC-1,7.25,EUR\n",
    "autocharge/2026-11-19/control.json": {"business_date": "2026-11-19", "file": "requests.csv", "requests": 1,
                                           "amount_by_currency": {"EUR": "7.25"}},
    "autocharge/2026-11-20/requests.csv": "request_key,amount,currency\nAC-2,12.00,EUR\nAC-3,127.50,USD\n",
    "autocharge/2026-11-20/control.json": {"business_date": "2026-11-20", "file": "requests.csv", "requests": 2,
                                           "amount_by_currency": {"EUR": "12.00", "USD": "127.50"}},
    "autocharge/2026-11-20/requests.csv.tmp": "half-written\n",
    "outbox/2026-11-20/messages.jsonl": '{"message_id": "invoice:INV-2026-000001"}\n',
    "outbox/2026-11-20/control.json": {"business_date": "2026-11-20", "messages": 1,
                                       "by_type": {"invoice": 1}, "by_channel": {"email": 1}},
    "gl/2026-11/journal.csv": "date,account,debit,credit\n2026-11-20,11000,139.50,0.00\n",
    "gl/2026-11/control.json": {"period": "2026-11", "closed": False, "total_debit": "139.50"},
    "manifests/2026-11-20/acme-post/issue-2026-12.csv": "customer_id,name,address\nC1,Ann Example,1 Road\n",
    "manifests/2026-11-20/acme-post/control.json": {"copies": 1},
}


@pytest.fixture
def ops(home: Settings) -> Settings:
    """A home with the exports above, a file outside exports/, symlinks pointing out, and user alice."""
    for relative, content in TREE.items():
        path = home.exports / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content, indent=1), encoding="utf-8")
    (home.home / "secret.txt").write_text(SECRET, encoding="utf-8")
    (home.exports / "autocharge/2026-11-20/leak.csv").symlink_to(home.home / "secret.txt")
    (home.exports / "autocharge/escape").symlink_to(home.home, target_is_directory=True)
    (home.exports / "outbox/2026-11-20/same.jsonl").symlink_to(home.exports / "outbox/2026-11-20/messages.jsonl")
    write_user(home.ops_users, "alice", PASSWORD)
    return home


@pytest.fixture
def client(ops: Settings) -> TestClient:
    with TestClient(create_app(ops), follow_redirects=False) as test_client:
        yield test_client


def _login(client: TestClient, user: str = "alice", password: str = PASSWORD, next_page: str = "/"):
    return client.post("/login", data={"username": user, "password": password, "next": next_page})


def _audit(settings: Settings) -> list[dict]:
    path = settings.serve_state / "audit.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


# --- login ---------------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_the_login_for_the_listing_and_every_download(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2F"
    download = client.get("/download/autocharge/2026-11-20/requests.csv")
    assert download.status_code == 303
    assert download.headers["location"] == "/login?" + urlencode({"next": "/download/autocharge/2026-11-20/requests.csv"})
    assert b"AC-2" not in download.content
    assert client.get("/download/../secret.txt").status_code in (303, 404)  # never the file, logged in or not
    form = client.get("/login?next=/download/autocharge/2026-11-20/requests.csv")
    assert form.status_code == 200 and 'name="password"' in form.text
    assert 'value="/download/autocharge/2026-11-20/requests.csv"' in form.text


def test_a_wrong_password_or_unknown_user_is_refused_and_recorded(client: TestClient, ops: Settings) -> None:
    for user, password in (("alice", "not the password"), ("mallory", PASSWORD), ("alice", "")):
        refused = _login(client, user, password)
        assert refused.status_code == 401 and "Wrong user name or password" in refused.text
        assert "set-cookie" not in refused.headers
        assert client.get("/").status_code == 303
    assert [(e["event"], e["user"]) for e in _audit(ops)] == [
        ("login_failed", "alice"), ("login_failed", "mallory"), ("login_failed", "alice")]


def test_login_sets_an_httponly_samesite_cookie_and_goes_where_the_visitor_was_going(client: TestClient,
                                                                                     ops: Settings) -> None:
    answer = _login(client, next_page="/?date=2026-11-19")
    assert answer.status_code == 303 and answer.headers["location"] == "/?date=2026-11-19"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=43200" in cookie
    assert PASSWORD not in answer.headers["set-cookie"]
    assert client.get("/").status_code == 200
    assert _audit(ops)[-1] | {"at": None} == {"at": None, "event": "login", "user": "alice", "client": "testclient"}


def test_logout_ends_the_session_and_a_removed_user_is_out_at_once(client: TestClient, ops: Settings) -> None:
    _login(client)
    assert client.post("/logout").headers["location"] == "/login"
    assert client.get("/").status_code == 303
    _login(client)
    assert client.get("/").status_code == 200
    assert main(["--home", str(ops.home), "serve", "--remove-user", "alice"]) == 0
    assert client.get("/").status_code == 303
    assert [e["event"] for e in _audit(ops)] == ["login", "logout", "login"]


def test_repeated_wrong_passwords_block_that_user_from_that_client(client: TestClient, ops: Settings) -> None:
    for _ in range(10):
        assert _login(client, password="guess guess guess").status_code == 401
    blocked = _login(client)  # even the right password, until the window has passed
    assert blocked.status_code == 429 and "Too many wrong passwords" in blocked.text
    assert _audit(ops)[-1]["event"] == "login_refused"


def test_dev_mode_user_lives_in_the_process_only(ops: Settings) -> None:
    one_time = "one-time-password-of-this-run"
    with TestClient(create_app(ops, dev_password=one_time), follow_redirects=False) as dev_client:
        assert _login(dev_client, "dev", one_time).status_code == 303
        assert "Development mode" in dev_client.get("/").text
    assert "dev" not in read_users(ops.ops_users)
    with TestClient(create_app(ops), follow_redirects=False) as production:
        assert _login(production, "dev", one_time).status_code == 401


def test_after_login_only_local_paths_are_followed() -> None:
    assert safe_next("/?date=2026-11-20") == "/?date=2026-11-20"
    for outside in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None, "javascript:alert(1)"):
        assert safe_next(outside) == "/"


# --- listing -------------------------------------------------------------------------------

def test_the_listing_shows_the_latest_date_by_kind_and_shipper_with_control_totals(client: TestClient) -> None:
    _login(client)
    page = client.get("/").text
    assert '<option value="2026-11-20" selected>' in page and '<option value="2026-11-19">' in page
    for kind in ("autocharge", "gl", "manifests", "outbox"):
        assert f'<h2>{kind}</h2>' in page
    assert "2026-11-20 · acme-post" in page and 'href="/download/manifests/2026-11-20/acme-post/issue-2026-12.csv"' in page
    assert 'href="/download/gl/2026-11/journal.csv"' in page  # the period is shown with each of its dates
    assert "<th scope=\"row\">Amount by currency</th><td>EUR 12.00 · USD 127.50</td>" in page
    assert "<th scope=\"row\">By channel</th><td>email 1</td>" in page
    assert "<th scope=\"row\">Closed</th><td>no</td>" in page
    assert "AC-1" not in page and "2026-11-19/requests.csv" not in page
    assert "requests.csv.tmp" not in page and "leak.csv" not in page and "escape" not in page
    earlier = client.get("/?date=2026-11-19").text
    assert "<td>EUR 7.25</td>" in earlier and 'href="/download/autocharge/2026-11-19/requests.csv"' in earlier
    assert "No export files for 2030-01-01" in client.get("/?date=2030-01-01").text


def test_listing_is_generic_over_kinds_dates_periods_and_sub_folders(ops: Settings) -> None:
    folders = scan(ops.exports)
    assert [(f.kind, f.key, f.sub) for f in folders] == [
        ("autocharge", "2026-11-19", ""), ("autocharge", "2026-11-20", ""), ("gl", "2026-11", ""),
        ("manifests", "2026-11-20", "acme-post"), ("outbox", "2026-11-20", "")]
    assert keys(folders) == ["2026-11-20", "2026-11-19"] and latest_key(folders) == "2026-11-20"
    (ops.exports / "gl/2026-10").mkdir()
    (ops.exports / "gl/2026-10/journal.csv").write_text("x\n", encoding="utf-8")
    assert keys(scan(ops.exports)) == ["2026-11-20", "2026-11-19", "2026-10"]  # a period with no export day
    assert control_lines({"amount_by_currency": {"EUR": "1.00"}, "by_period": {"2026-11": {"lines": 2}},
                          "periods": ["2026-10", "2026-11"], "closed": True}) == (
        ("Amount by currency", "EUR 1.00"), ("By period", "2026-11 (lines 2)"), ("Periods", "2026-10, 2026-11"),
        ("Closed", "yes"))


def test_an_unreadable_control_file_is_shown_not_a_server_error(client: TestClient, ops: Settings) -> None:
    (ops.exports / "autocharge/2026-11-20/control.json").write_text("{not json", encoding="utf-8")
    _login(client)
    page = client.get("/")
    assert page.status_code == 200 and "control.json cannot be read" in page.text


# --- downloads -----------------------------------------------------------------------------

def test_a_download_is_the_file_on_disk_and_is_recorded(client: TestClient, ops: Settings) -> None:
    _login(client)
    before = datetime.now(UTC)
    answer = client.get("/download/autocharge/2026-11-20/requests.csv")
    on_disk = (ops.exports / "autocharge/2026-11-20/requests.csv").read_bytes()
    assert answer.status_code == 200 and answer.content == on_disk
    assert answer.headers["content-disposition"] == 'attachment; filename="autocharge_2026-11-20_requests.csv"'
    assert answer.headers["cache-control"] == "no-store" and answer.headers["x-content-type-options"] == "nosniff"
    entry = _audit(ops)[-1]
    at = datetime.fromisoformat(entry.pop("at"))
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)
    assert entry == {"event": "download", "user": "alice", "client": "testclient",
                     "file": "autocharge/2026-11-20/requests.csv", "bytes": len(on_disk),
                     "sha256": hashlib.sha256(on_disk).hexdigest()}


def test_a_symlink_inside_exports_is_served_and_recorded_with_its_target(client: TestClient, ops: Settings) -> None:
    _login(client)
    answer = client.get("/download/outbox/2026-11-20/same.jsonl")
    assert answer.content == (ops.exports / "outbox/2026-11-20/messages.jsonl").read_bytes()
    assert _audit(ops)[-1]["resolved"] == "outbox/2026-11-20/messages.jsonl"


REFUSED = [
    "%2e%2e/secret.txt",
    "%2e%2e/%2e%2e/secret.txt",
    "autocharge/%2e%2e/%2e%2e/secret.txt",
    "autocharge/2026-11-20/..%2f..%2f..%2fsecret.txt",
    "autocharge/2026-11-20/%2E%2E/%2E%2E/%2E%2E/secret.txt",
    "/" + "etc/passwd",  # /download//etc/passwd: an absolute path
    "%2Fetc%2Fpasswd",
    "autocharge/2026-11-20/leak.csv",  # a symlink to a file outside exports/
    "autocharge/escape/secret.txt",  # a symlinked folder outside exports/
    "autocharge/2026-11-20",  # a folder
    "autocharge/2026-11-20/requests.csv.tmp",
    "autocharge/2026-11-20/nothing.csv",
    "autocharge/2026-11-20/%00requests.csv",
    "autocharge/2026-11-20/..%5c..%5c..%5csecret.txt",
]


@pytest.mark.parametrize("path", REFUSED)
def test_no_path_outside_exports_is_served(client: TestClient, ops: Settings, path: str) -> None:
    _login(client)
    answer = client.get(f"/download/{path}")
    assert answer.status_code == 404 and SECRET.encode() not in answer.content
    assert _audit(ops)[-1]["event"] == "download_refused"  # the handler saw it and said no, not the router


@pytest.mark.parametrize("requested", ["../secret.txt", "autocharge/../../secret.txt", "/etc/passwd",
                                       "autocharge/2026-11-20/../../../secret.txt", "autocharge/./2026-11-20/requests.csv",
                                       "autocharge//2026-11-20/requests.csv", "autocharge\\2026-11-20\\requests.csv",
                                       ".hidden/2026-11-20/requests.csv", ""])
def test_the_path_rule_itself(ops: Settings, requested: str) -> None:
    assert resolve_download(ops.exports, requested) is None


def test_the_path_rule_accepts_what_is_listed(ops: Settings) -> None:
    for folder in scan(ops.exports):
        for f in folder.files:
            assert resolve_download(ops.exports, f.path) is not None


# --- users, settings, the command ----------------------------------------------------------

def test_users_file_holds_a_salted_hash_only_and_is_private(ops: Settings) -> None:
    text = ops.ops_users.read_text(encoding="utf-8")
    assert PASSWORD not in text and stat.S_IMODE(ops.ops_users.stat().st_mode) == 0o600
    write_user(ops.ops_users, "bob", PASSWORD)
    users = read_users(ops.ops_users)
    assert users["alice"] != users["bob"]  # same password, different salts
    assert verify_password(PASSWORD, users["bob"]) and not verify_password(PASSWORD + "x", users["bob"])
    with pytest.raises(ValueError, match="at least 12"):
        write_user(ops.ops_users, "carol", "short")
    with pytest.raises(ValueError, match="user name"):
        write_user(ops.ops_users, '"] evil', PASSWORD)


def test_add_user_reads_the_password_from_standard_input(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--home", str(home.home), "serve", "--add-user", "ops.morning"]) == 0
    assert verify_password(PASSWORD, read_users(home.ops_users)["ops.morning"])


def test_serve_refuses_to_start_without_users_and_dev_mode_stays_on_this_machine(
        home: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home.home), "serve"]) == 2
    assert "no users in" in capsys.readouterr().err
    assert main(["--home", str(home.home), "serve", "--dev", "--host", "0.0.0.0"]) == 2
    assert "--dev listens on this machine only" in capsys.readouterr().err


def test_serve_settings_are_validated(tmp_path: Path) -> None:
    settings = parse_settings(tmp_path, '[serve]\nport = 9000\nhttps_only = true\n')
    assert (settings.serve_host, settings.serve_port, settings.serve_https_only) == ("127.0.0.1", 9000, True)
    for bad, message in (('port = "80"', "port"), ("session_hours = 0", "session_hours"), ("prot = 1", "unknown")):
        with pytest.raises(ValueError, match=message):
            parse_settings(tmp_path, f"[serve]\n{bad}\n")


# --- the real server, the real browser -----------------------------------------------------

@pytest.fixture
def live_server(ops: Settings, tmp_path: Path) -> str:
    """``lifecycle serve`` as operations start it, on a free localhost port; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "lifecycle.cli", "--home", str(ops.home), "serve", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"lifecycle serve did not start: {(tmp_path / 'serve.log').read_text()}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()


def test_the_real_server_refuses_raw_dot_dot_paths(live_server: str, ops: Settings) -> None:
    """http.client sends ``..`` as typed (curl --path-as-is); test clients and browsers would tidy it away."""
    host, port = live_server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("POST", "/login", body=urlencode({"username": "alice", "password": PASSWORD, "next": "/"}),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    answer.read()
    cookie = answer.getheader("set-cookie").split(";")[0]
    for raw in ("/download/../secret.txt", "/download/autocharge/../../secret.txt",
                "/download/autocharge/2026-11-20/../../../secret.txt", "/download/autocharge/2026-11-20/leak.csv"):
        connection.request("GET", raw, headers={"Cookie": cookie})
        answer = connection.getresponse()
        assert answer.status == 404 and SECRET.encode() not in answer.read(), raw
    connection.close()


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                    reason=f"Debian's Chromium is not installed ({CHROMIUM}; `apt-get install chromium`). "
                           "On CI .ci/run installs it and this test runs.")
def test_a_browser_logs_in_picks_a_day_and_downloads_the_file_on_disk(live_server: str, ops: Settings) -> None:
    from playwright.sync_api import sync_playwright

    wanted = ops.exports / "autocharge/2026-11-19/requests.csv"
    with sync_playwright() as playwright:
        # Playwright cannot download its own browsers here: drive Debian's Chromium (PITFALLS).
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(f"{live_server}/")
            assert "/login" in page.url
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Log in')")
            page.wait_for_url(f"{live_server}/")
            assert page.inner_text("#user") == "alice"
            page.select_option("#date", "2026-11-19")
            page.click("button:has-text('Show')")
            page.wait_for_url("**/?date=2026-11-19")
            assert "EUR 7.25" in page.inner_text("#kind-autocharge")
            with page.expect_download() as info:
                page.click("#kind-autocharge a:has-text('requests.csv')")
            download = info.value
            assert download.suggested_filename == "autocharge_2026-11-19_requests.csv"
            assert Path(download.path()).read_bytes() == wanted.read_bytes()
        finally:
            browser.close()
    downloads = [e for e in _audit(ops) if e["event"] == "download"]
    assert [(e["user"], e["file"], e["client"]) for e in downloads] == [
        ("alice", "autocharge/2026-11-19/requests.csv", "127.0.0.1")]
    assert downloads[0]["sha256"] == hashlib.sha256(wanted.read_bytes()).hexdigest()
