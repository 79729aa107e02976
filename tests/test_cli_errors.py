"""Mistakes at the terminal: one line on stderr naming what was wrong, exit status 2, nothing created."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lifecycle.cli import main

MISTAKES = [
    # (argv after --home, what the one line must say)
    (["nightly", "--date", "2026-1-1"], "'2026-1-1' is not a date: write YYYY-MM-DD"),
    (["nightly", "--date", "20261124"], "'20261124' is not a date: write YYYY-MM-DD"),
    (["backfill", "--start", "2026-11-20", "--end", "2026-11-01"], "--end 2026-11-01 is before --start 2026-11-20"),
    (["customer", "C0000001", "--limit", "-1"], "'-1' is not a whole number of at least 1"),
    (["sql", "select 1"], "no home at"),
    (["customer", "C0000001"], "no home at"),
    (["report", "renewals"], "no home at"),
    (["generate", "--customers", "many"], "'many' is not a whole number of at least 1"),
]


@pytest.mark.parametrize("argv, says", MISTAKES, ids=[" ".join(a[:2]) for a, _ in MISTAKES])
def test_a_mistake_is_one_line_rc_2_and_creates_nothing(tmp_path, capsys, argv, says):
    home = tmp_path / "mistyped-home"
    try:
        rc = main(["--home", str(home), *argv])
    except SystemExit as exc:  # argparse's own errors: usage, then one line
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2
    assert says in err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("usage:") and not line.startswith(" ")]
    assert len(lines) == 1, err
    assert not home.exists()


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    # `lifecycle … | head -1`: the reader goes away after one line of a long output
    script = (
        "import sys\n"
        "from lifecycle import cli\n"
        "def noisy(args):\n"
        "    for i in range(200000):\n"
        "        print('x' * 80)\n"
        "    return 0\n"
        "cli.cmd_contract = noisy\n"
        "sys.exit(cli.main(['contract']))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"x" * 80 + b"\n"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""
