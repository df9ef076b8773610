"""The instructor's current step, pushed to every learner's pages: ``runs/.notice.json``.

One notice at a time: a lesson step (its number and title) or a setup (a Train-page link's query
string, e.g. ``units=1024&epochs=30``, with a title such as its summary). It is a file in the store,
so it survives a server restart, written atomically and read back through one validating loader: a
damaged file reads as no notice, with a warning. The store checks shapes only (a setup's characters
are those of a link's); the page re-reads a setup through ``teaching.share.parse_setup`` before it
links to it, and shows every text as plain text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fmnist_lab.store import atomic, stored

log = logging.getLogger(__name__)

FILE = ".notice.json"  # in the run store's folder; the listing skips names starting with a dot
MAX_TITLE = 80
MAX_STEP = 99
MAX_SETUP = 600  # a link's query: ten settings plus lock= and hide= lists
SETUP_PATTERN = re.compile(r"[A-Za-z0-9.,+\-:=&%_ ]*")  # what share.setup_params and urlencode produce


class BadNotice(ValueError):
    """A notice that cannot be pushed; the message says why."""


@dataclass(frozen=True)
class Notice:
    """A lesson step (``step`` and its ``title``) or a setup (``setup`` query and a ``title``)."""

    title: str
    step: int | None = None
    setup: str | None = None
    pushed: str = ""  # when, ISO

    def __post_init__(self) -> None:
        title = self.title.strip() if isinstance(self.title, str) else ""
        if not title or not title.isprintable() or len(title) > MAX_TITLE:
            raise BadNotice(f"A notice's title is 1 to {MAX_TITLE} printable characters on one line.")
        if (self.step is None) == (self.setup is None):
            raise BadNotice("A notice is either a lesson step or a setup.")
        if self.step is not None and (isinstance(self.step, bool) or not isinstance(self.step, int)
                                      or not 1 <= self.step <= MAX_STEP):  # fmt: skip
            raise BadNotice(f"A lesson step is a number from 1 to {MAX_STEP}.")
        if self.setup is not None and (
            not isinstance(self.setup, str) or len(self.setup) > MAX_SETUP or not SETUP_PATTERN.fullmatch(self.setup)
        ):
            raise BadNotice("A setup is a Train-page link's settings (units=1024&epochs=30…).")
        object.__setattr__(self, "title", title)


class NoticeBoard:
    """The one current notice of the store in ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.path = self.root / FILE

    def current(self) -> Notice | None:
        try:
            return checked(stored.read_json(self.path))
        except FileNotFoundError:
            return None
        except stored.Damage as exc:
            log.warning("ignoring the instructor's notice: %s", exc)
            return None

    def push(self, notice: Notice) -> Notice:
        """Show ``notice`` on every page from now on, in place of any earlier one."""
        notice = Notice(notice.title, notice.step, notice.setup, datetime.now(UTC).isoformat(timespec="seconds"))
        self.root.mkdir(parents=True, exist_ok=True)
        atomic.write_json(self.path, asdict(notice))
        return notice

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def checked(data: Any) -> Notice:
    """The notice file: an object with a title and either a step or a setup; Damage otherwise."""
    if not isinstance(data, dict):
        raise stored.Damage(f"{FILE}: must be a JSON object, not {type(data).__name__}")
    try:
        return Notice(data.get("title") or "", data.get("step"), data.get("setup"), str(data.get("pushed", ""))[:40])
    except BadNotice as exc:
        raise stored.Damage(f"{FILE}: {exc}") from None
