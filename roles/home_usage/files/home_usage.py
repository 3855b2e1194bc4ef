#!/usr/bin/python3
"""Measure the disk usage of every home directory under a root, incrementally and within a time budget.

    home_usage.py measure --root /srv/homes [--state-dir DIR] [--max-seconds N]
                          [--full-every-hours H] [--full] [--history-days D] [--mode 0700]

Writes ``<state dir>/usage.json`` (version 1, docs/quotas.md) and ``history.jsonl`` beside it, both
atomically (a temporary file, then a rename). The state directory defaults to ``<root>/.sciplat-usage``;
the top level's dot-entries are never homes.

How a figure is kept up to date (the incremental rule):
- ``bytes`` is what ``du -s --block-size=1`` reports for the home: st_blocks * 512 over every file and
  directory, each inode once (hard links), symbolic links not followed, other file systems not entered.
- The state directory keeps, per home, a cache of every directory: its mtime and ctime (ns), the bytes
  and count of the files directly in it, and the names of its child directories. A directory whose
  mtime and ctime are unchanged is not listed again: one lstat per directory when nothing changed.
- A file that grows in place changes its own mtime, not its directory's, so an incremental pass does
  not see it. Each home is therefore walked in full (every directory listed) at least every
  ``--full-every-hours`` hours: that is the staleness bound of a figure for in-place growth.
  Files created, deleted or renamed are seen by the next run.
- Homes are taken oldest figure first. When ``--max-seconds`` is used up the run stops, the homes not
  reached keep their earlier figures and ``run.complete`` is false. Directories listed before the stop
  stay in the cache, so the next run goes on from there (even a home larger than one budget finishes).
- A lock (flock on ``<state dir>/lock``) keeps two runs from overlapping: the second one refuses.

Standard library only, Python 3.9+: it runs on a hub host's /usr/bin/python3 and in a stock python image.
Exit codes: 0 done (complete or not), 2 bad arguments or root, 3 another run holds the lock.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import fcntl
import json
import os
import stat
import sys
import tempfile
import time
import urllib.parse

# datetime.UTC is Python 3.11+; this script runs on 3.9 hosts too.
UTC = datetime.timezone.utc  # noqa: UP017
FORMAT_VERSION = 1
CACHE_VERSION = 1
# A directory modified less than this long before it was listed may change again within the same
# timestamp tick; it is not trusted from the cache on the next run (listed again).
RACY_NS = 2_000_000_000
# How many directories a walk lists between two looks at the time budget.
BUDGET_CHECK_EVERY = 64
# How many of a home's top-level directories usage.json lists under "largest" (the storage page).
LARGEST = 10


class UsageError(Exception):
    """A problem the operator must fix (bad root, unwritable state directory): exit code 2."""


class LockHeld(Exception):
    """Another measurement holds the lock: exit code 3."""


class BudgetExhausted(Exception):
    """The time budget ran out in the middle of a home."""


def iso(epoch: float) -> str:
    """UTC ISO-8601 with a Z, to the second."""
    return datetime.datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomic(path: str, text: str, mode: int) -> None:
    """Write text to path through a temporary file in the same directory and a rename."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: str, default):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default
    except (OSError, ValueError):
        # A damaged file is measured again from scratch rather than stopping every run.
        return default


class Stats:
    """What one run did, for the summary line and usage.json's run section."""

    def __init__(self) -> None:
        self.dirs_listed = 0
        self.dirs_stat = 0
        self.errors = 0
        self.homes_walked = 0
        self.homes_reused = 0
        self.homes_skipped = 0
        self.homes_full = 0


class HomeWalker:
    """Brings one home's figure up to date from its cache, listing only what must be listed.

    Cache entries, keyed by the directory's path relative to the home ("" for the home itself):
    ``[mtime_ns, ctime_ns, listed_at, bytes, files, multi, children]`` where bytes and files cover the
    non-directory entries directly inside with one link, ``multi`` is ``[[inode, bytes], ...]`` for those
    with several links (counted once per home at the end), and children are the child directories' names.
    """

    def __init__(self, home: str, cache: dict, relist_before: float, stats: Stats, deadline, clock) -> None:
        self.home = home
        self.old = cache.get("dirs", {})
        self.new: dict = {}
        self.relist_before = relist_before
        self.stats = stats
        self.deadline = deadline
        self.clock = clock
        self.listed = 0

    def walk(self) -> dict:
        """Return the home's figures; raises BudgetExhausted (self.new holds what was listed)."""
        top = os.lstat(self.home)
        self.stats.dirs_stat += 1
        dev = top.st_dev
        total = 0
        files = 0
        dirs = 0
        multi: dict = {}
        # Bytes per top-level directory of the home ("" = the files directly in it): the largest
        # directories the hub's storage page shows. A file with several links counts where first seen.
        by_top: dict = {}
        multi_top: dict = {}
        stack = [("", top)]
        while stack:
            rel, st = stack.pop()
            dirs += 1
            total += st.st_blocks * 512
            entry = self.entry_for(rel, st)
            self.new[rel] = entry
            total += entry[3]
            files += entry[4]
            first = rel.split("/", 1)[0]
            by_top[first] = by_top.get(first, 0) + st.st_blocks * 512 + entry[3]
            for inode, size in entry[5]:
                multi[inode] = size
                multi_top.setdefault(inode, first)
            for name in entry[6]:
                child_rel = name if not rel else rel + "/" + name
                try:
                    child = os.lstat(os.path.join(self.home, child_rel))
                except FileNotFoundError:
                    continue
                except OSError:
                    self.stats.errors += 1
                    continue
                self.stats.dirs_stat += 1
                if stat.S_ISDIR(child.st_mode) and child.st_dev == dev:
                    stack.append((child_rel, child))
        for inode, size in multi.items():
            by_top[multi_top[inode]] = by_top.get(multi_top[inode], 0) + size
        largest = sorted(((size, name) for name, size in by_top.items() if size), reverse=True)[:LARGEST]
        return {
            "bytes": total + sum(multi.values()),
            "files": files + len(multi),
            "dirs": dirs,
            "largest": [[name, size] for size, name in largest],
        }

    def entry_for(self, rel: str, st: os.stat_result) -> list:
        cached = self.old.get(rel)
        if (
            cached is not None
            and cached[0] == st.st_mtime_ns
            and cached[1] == st.st_ctime_ns
            and cached[2] >= self.relist_before
        ):
            return cached
        return self.list_dir(rel, st)

    def list_dir(self, rel: str, st: os.stat_result) -> list:
        budget_look = self.deadline is not None and self.listed and self.listed % BUDGET_CHECK_EVERY == 0
        if budget_look and time.monotonic() >= self.deadline:
            raise BudgetExhausted()
        self.listed += 1
        self.stats.dirs_listed += 1
        now = self.clock()
        size = 0
        count = 0
        multi = []
        children = []
        try:
            with os.scandir(os.path.join(self.home, rel)) as entries:
                for item in entries:
                    try:
                        if item.is_dir(follow_symlinks=False):
                            children.append(item.name)
                            continue
                        info = item.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    except OSError:
                        self.stats.errors += 1
                        continue
                    if info.st_nlink > 1:
                        multi.append([info.st_ino, info.st_blocks * 512])
                    else:
                        size += info.st_blocks * 512
                        count += 1
        except OSError as error:
            # Unreadable: counted as empty (as du does, after its message), and listed again next run.
            self.stats.errors += 1
            print(
                f"home_usage: cannot list {os.path.join(self.home, rel)}: {error.strerror}", file=sys.stderr
            )
            return [-1, -1, now, 0, 0, [], []]
        mtime = st.st_mtime_ns
        if time.time_ns() - mtime < RACY_NS:
            mtime = -1  # may still change within the same tick: list it again next run
        return [mtime, st.st_ctime_ns, now, size, count, multi, sorted(children)]


def list_homes(root: str) -> list:
    homes = []
    with os.scandir(root) as entries:
        for item in entries:
            if item.name.startswith(".") or item.name == "lost+found":
                continue
            if item.is_dir(follow_symlinks=False):
                homes.append(item.name)
    return sorted(homes)


def cache_path(state_dir: str, name: str) -> str:
    return os.path.join(state_dir, "cache", urllib.parse.quote(name, safe="") + ".json")


def update_history(path: str, homes: dict, now: float, days: int, mode: int) -> bool:
    """Append today's line unless there is one already; drop lines older than days. True if written."""
    today = datetime.datetime.fromtimestamp(now, UTC).date()
    oldest = today - datetime.timedelta(days=days)
    lines = []
    try:
        with open(path, encoding="utf-8") as handle:
            for raw in handle:
                try:
                    line = json.loads(raw)
                    day = datetime.date.fromisoformat(line["date"])
                except (ValueError, KeyError, TypeError):
                    continue
                lines.append((day, line))
    except FileNotFoundError:
        pass
    kept = [(day, line) for day, line in lines if day > oldest]
    has_today = any(day == today for day, _ in kept)
    if has_today and len(kept) == len(lines):
        return False
    if not has_today:
        kept.append(
            (today, {"date": today.isoformat(), "homes": {name: h["bytes"] for name, h in homes.items()}})
        )
    write_atomic(path, "".join(json.dumps(line, sort_keys=True) + "\n" for _, line in kept), mode)
    return True


def measure(
    root: str,
    state_dir: str | None = None,
    max_seconds: float | None = None,
    full_every_hours: float = 24.0,
    full: bool = False,
    history_days: int = 90,
    mode: int = 0o700,
    clock=time.time,
) -> tuple:
    """Run one measurement; returns (usage document, Stats). Raises UsageError or LockHeld."""
    started = time.monotonic()
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise UsageError(f"the root {root} is not a directory (--root: the directory holding the homes)")
    state_dir = os.path.abspath(state_dir or os.path.join(root, ".sciplat-usage"))
    file_mode = mode & 0o666
    try:
        os.makedirs(os.path.join(state_dir, "cache"), mode=mode, exist_ok=True)
        os.chmod(state_dir, mode)
        os.chmod(os.path.join(state_dir, "cache"), mode)
    except OSError as error:
        raise UsageError(f"cannot create the state directory {state_dir}: {error.strerror}") from error
    lock = os.open(os.path.join(state_dir, "lock"), os.O_RDWR | os.O_CREAT, file_mode)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EACCES):
                raise LockHeld(f"another measurement holds {state_dir}/lock; this run did nothing") from error
            raise
        return _measure_locked(
            root,
            state_dir,
            max_seconds,
            full_every_hours,
            full,
            history_days,
            mode,
            file_mode,
            clock,
            started,
        )
    finally:
        os.close(lock)


def _measure_locked(
    root, state_dir, max_seconds, full_every_hours, full, history_days, mode, file_mode, clock, started
):
    usage_path = os.path.join(state_dir, "usage.json")
    previous = read_json(usage_path, {})
    if (
        not isinstance(previous, dict)
        or previous.get("version") != FORMAT_VERSION
        or previous.get("root") != root
    ):
        previous = {}
    old_homes = previous.get("homes", {})
    try:
        names = list_homes(root)
    except OSError as error:
        raise UsageError(f"cannot list the root {root}: {error.strerror}") from error
    # Oldest figure first; never measured before that.
    names.sort(key=lambda name: (old_homes.get(name, {}).get("measured_at", ""), name))
    deadline = started + max_seconds if max_seconds else None
    stats = Stats()
    homes = {}
    complete = True
    for index, name in enumerate(names):
        if index and deadline is not None and time.monotonic() >= deadline:
            complete = False
        if not complete:
            stats.homes_skipped += 1
            if name in old_homes:
                homes[name] = old_homes[name]
            continue
        path = cache_path(state_dir, name)
        cache = read_json(path, {})
        if not isinstance(cache, dict) or cache.get("version") != CACHE_VERSION:
            cache = {}
        now = clock()
        full_at = cache.get("full_at")
        due = full or full_at is None or now - full_at >= full_every_hours * 3600
        if due:
            # A full pass lists every directory not listed since the pass began; one cut short by the
            # budget goes on from there next run.
            if full or cache.get("full_started") is None:
                cache["full_started"] = now
            relist_before = cache["full_started"]
        else:
            relist_before = float("-inf")
        walker = HomeWalker(os.path.join(root, name), cache, relist_before, stats, deadline, clock)
        try:
            figures = walker.walk()
        except BudgetExhausted:
            complete = False
            stats.homes_skipped += 1
            merged = dict(cache.get("dirs", {}))
            merged.update(walker.new)
            cache["dirs"] = merged
            cache["version"] = CACHE_VERSION
            write_atomic(path, json.dumps(cache, separators=(",", ":")), file_mode)
            if name in old_homes:
                homes[name] = old_homes[name]
            continue
        except FileNotFoundError:
            continue  # the home went away while being measured
        done = clock()
        if due:
            cache["full_at"] = cache.pop("full_started")
            stats.homes_full += 1
        if walker.listed:
            stats.homes_walked += 1
        else:
            stats.homes_reused += 1
        cache["dirs"] = walker.new
        cache["version"] = CACHE_VERSION
        write_atomic(path, json.dumps(cache, separators=(",", ":")), file_mode)
        figures["measured_at"] = iso(done)
        figures["full_at"] = iso(cache["full_at"])
        homes[name] = figures
    # Homes that no longer exist: their figures and caches go.
    present = set(names)
    for entry in os.scandir(os.path.join(state_dir, "cache")):
        if entry.name.endswith(".json") and urllib.parse.unquote(entry.name[: -len(".json")]) not in present:
            os.unlink(entry.path)
    end = clock()
    seconds = round(time.monotonic() - started, 3)
    visited = stats.homes_walked + stats.homes_reused
    document = {
        "version": FORMAT_VERSION,
        "root": root,
        "measured_at": iso(end),
        "run": {
            "mode": "full" if visited and stats.homes_full == visited and complete else "incremental",
            "seconds": seconds,
            "homes_walked": stats.homes_walked,
            "homes_reused": stats.homes_reused,
            "homes_skipped": stats.homes_skipped,
            "dirs_listed": stats.dirs_listed,
            "dirs_stat": stats.dirs_stat,
            "errors": stats.errors,
            "complete": complete,
        },
        "homes": {name: homes[name] for name in sorted(homes)},
    }
    write_atomic(usage_path, json.dumps(document, indent=1, sort_keys=False) + "\n", file_mode)
    update_history(os.path.join(state_dir, "history.jsonl"), document["homes"], end, history_days, file_mode)
    return document, stats


def summary(document: dict) -> str:
    run = document["run"]
    return (
        f"home_usage: {len(document['homes'])} homes under {document['root']}: "
        f"{run['homes_walked']} walked, {run['homes_reused']} reused, {run['homes_skipped']} skipped; "
        f"{run['dirs_listed']} directories listed, {run['dirs_stat']} stat; {run['seconds']} s; "
        f"{run['mode']}, {'complete' if run['complete'] else 'INCOMPLETE (time budget used up)'}"
        + (f"; {run['errors']} unreadable entries" if run["errors"] else "")
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Measure the disk usage of each home directory under a root."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("measure", help="measure every home (incrementally) and write usage.json")
    run.add_argument("--root", required=True, help="the directory holding one directory per user")
    run.add_argument(
        "--state-dir", help="where usage.json, history.jsonl and the caches go (ROOT/.sciplat-usage)"
    )
    run.add_argument("--max-seconds", type=float, default=0, help="time budget; 0: none (default)")
    run.add_argument(
        "--full-every-hours", type=float, default=24.0, help="walk each home in full this often (24)"
    )
    run.add_argument("--full", action="store_true", help="walk every home in full now")
    run.add_argument("--history-days", type=int, default=90, help="keep this many days of history.jsonl (90)")
    run.add_argument(
        "--mode", default="0700", help="the state directory's mode, octal; files get it without x (0700)"
    )
    args = parser.parse_args(argv)
    try:
        mode = int(args.mode, 8)
    except ValueError:
        parser.error(f"--mode {args.mode!r} is not an octal mode such as 0700")
    if args.max_seconds < 0 or args.full_every_hours <= 0 or args.history_days < 1:
        parser.error("--max-seconds must be >= 0, --full-every-hours > 0 and --history-days >= 1")
    try:
        document, _ = measure(
            args.root,
            state_dir=args.state_dir,
            max_seconds=args.max_seconds or None,
            full_every_hours=args.full_every_hours,
            full=args.full,
            history_days=args.history_days,
            mode=mode,
        )
    except UsageError as error:
        print(f"home_usage: {error}", file=sys.stderr)
        return 2
    except LockHeld as error:
        print(f"home_usage: {error}", file=sys.stderr)
        return 3
    print(summary(document), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
