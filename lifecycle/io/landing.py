"""The landing register: which file was ingested for each feed and date, and the append-only rule.

Once night P is published, the landing files of P and of every earlier date are frozen: a file
that differs from the one ingested (or appears, or disappears) for such a date is refused, by a
rerun of its date and by every later night, which stops the feed until the file is put back.
Corrections arrive as new events in a later file. Re-ingesting an identical file changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

from lifecycle.io.register import last_sent_night
from lifecycle.io.warehouse import last_published_date
from lifecycle.settings import Settings

ABSENT = "absent"


class LandingRefused(Exception):
    """A landing file breaks the append-only rule."""


def file_checksum(path: Path) -> str:
    if not path.exists():
        return ABSENT
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _register_path(settings: Settings, feed_name: str) -> Path:
    return settings.state / "landing" / f"{feed_name}.json"


def read_register(settings: Settings, feed_name: str) -> dict[str, str]:
    path = _register_path(settings, feed_name)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _frozen_night(settings: Settings) -> date | None:
    published = last_published_date(settings)
    sent = last_sent_night(settings)  # a withheld night whose manifests went out is frozen too
    return max((d for d in (published, sent) if d is not None), default=None)


def changed_frozen_files(settings: Settings, feed_name: str, recorded_date: date) -> list[str]:
    """Files of earlier, frozen dates that differ from the ones ingested (changed, removed or appeared since).

    Night D ingests only D's file, so without this a changed old file would be noticed only by a rerun of its
    date; each night checks every frozen date of the feed against the register and names what changed."""
    frozen = _frozen_night(settings)
    if frozen is None:
        return []
    changed = []
    for day, recorded in sorted(read_register(settings, feed_name).items()):
        when = date.fromisoformat(day)
        if when >= recorded_date or when > frozen:
            continue
        path = settings.landing_file(feed_name, when)
        checksum = file_checksum(path)
        if recorded == checksum:
            continue
        rel = path.relative_to(settings.home)
        if recorded == ABSENT:
            changed.append(f"{rel}: a file appeared for a date that was ingested without one")
        elif checksum == ABSENT:
            changed.append(f"{rel}: the file ingested for this date has been removed")
        else:
            changed.append(f"{rel}: the file differs from the one ingested ({checksum[:19]}…, was {recorded[:19]}…)")
    return changed


def check_frozen_files(settings: Settings, feed_name: str, recorded_date: date) -> None:
    """Raise LandingRefused naming every file of an earlier, frozen date of the feed that changed, appeared or was
    removed since it was ingested: the feed stops (and the night with it) until the files are put back."""
    changed = changed_frozen_files(settings, feed_name, recorded_date)
    if changed:
        frozen = _frozen_night(settings)
        raise LandingRefused(
            "; ".join(changed) + f". Files dated on or before night {frozen} are frozen: put the ingested "
            f"file{'s' if len(changed) > 1 else ''} back and send corrections as new events in a later file; "
            f"{feed_name} is not ingested until then.")


def check_append_only(settings: Settings, feed_name: str, recorded_date: date) -> str:
    """Return the file's checksum, or raise LandingRefused if it may not be ingested."""
    path = settings.landing_file(feed_name, recorded_date)
    checksum = file_checksum(path)
    published = last_published_date(settings)
    frozen = _frozen_night(settings)
    if frozen is None or recorded_date > frozen:
        return checksum
    recorded = read_register(settings, feed_name).get(recorded_date.isoformat())
    if recorded == checksum:
        return checksum
    rel = path.relative_to(settings.home)
    if recorded is None and checksum == ABSENT:
        return checksum  # nothing was delivered then, nothing now
    if recorded is None or recorded == ABSENT:
        problem = "a file appeared for a date that was ingested without one"
    elif checksum == ABSENT:
        problem = "the file ingested for this date has been removed"
    else:
        problem = f"the file differs from the one ingested ({checksum[:19]}…, was {recorded[:19]}…)"
    raise LandingRefused(
        f"{rel}: {problem}; night {frozen.isoformat()} is "
        f"{'published' if frozen == published else 'withheld but its exports were sent'}, so files dated on or "
        "before it are frozen. Send corrections as new events in a later file."
    )


def record_ingested(settings: Settings, feed_name: str, recorded_date: date, checksum: str) -> None:
    path = _register_path(settings, feed_name)
    register = read_register(settings, feed_name)
    register[recorded_date.isoformat()] = checksum
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(sorted(register.items())), indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


class NightNotReady(Exception):
    """Night D cannot start yet (its expected files have not landed) or at all (nothing to run it on)."""

    def __init__(self, message: str, exit_status: int):
        super().__init__(message)
        self.exit_status = exit_status  # 75 (EX_TEMPFAIL): try again later; 2: the command is wrong


def check_night_ready(settings: Settings, night: date) -> None:
    """Refuse a night that would publish from nothing: a home without landing files, a night before the home's
    first night, or (``[feeds] when_missing = "wait"``) a night whose expected daily files have not landed."""
    if not any(settings.landing.glob("*/*.csv")):
        raise NightNotReady(
            f"no landing file at all under {settings.landing}: there is nothing to run night {night} on. Deliver "
            f"the feeds' files as landing/<feed>/<YYYY-MM-DD>.csv, or try a sample home: "
            f"lifecycle --home {settings.home} demo", 2)
    first = settings.first_night()
    if first is not None and night < first:
        source = ("[business] first_night" if settings.first_night_setting else
                  "the cut-over date" if settings.cutover_date else "the date of its first landing file")
        raise NightNotReady(f"night {night} is before the home's first night {first} ({source}): run nights from "
                            f"{first} on", 2)
    missing = settings.missing_feeds(night)
    if missing and settings.when_missing == "wait":
        files = ", ".join(f"landing/{feed}/{night}.csv" for feed in missing)
        raise NightNotReady(
            f"night {night} waits for its expected daily feed{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}: {files} {'have' if len(missing) > 1 else 'has'} not landed. Run the night again "
            "once they have (a day without events still sends its header line), or set [feeds] when_missing = "
            "\"warn\" in lifecycle.toml to run without them", 75)
