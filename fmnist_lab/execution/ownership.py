"""Whose run is it: owner keys kept by the browser, and who may stop or rename a run.

A browser keeps a random owner key (a cookie); a run stores only its digest, so reading a
run's files never reveals a key that would let someone act as its owner. Runs with no owner
were started from the command line: only that process (Ctrl-C, ``kill``) or an instructor
stops them. The instructor proves who they are once per session with the secret in
``FMNIST_INSTRUCTOR_KEY``; a ``Throttle`` slows guesses of it, per session and for the whole server.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

from fmnist_lab.environment import VARIABLES, Environment
from fmnist_lab.store.runs import Run

INSTRUCTOR_ENV = VARIABLES["instructor_key"].name
KEY_PATTERN = re.compile(r"[0-9a-f]{32}")  # what new_key() makes; anything else in a cookie is ignored


def new_key() -> str:
    """A fresh random owner key for a browser (128 bits, hex)."""
    return secrets.token_hex(16)


def valid_key(text: object) -> TypeGuard[str]:
    return isinstance(text, str) and KEY_PATTERN.fullmatch(text) is not None


def owner_id(key: str) -> str:
    """What a run stores as its owner: a digest of the browser's key, not the key itself."""
    return hashlib.sha256(f"fmnist-owner:{key}".encode()).hexdigest()[:24]


def instructor_enabled(env: Mapping[str, str] = os.environ) -> bool:
    return bool(Environment.read(env).instructor_key)


def is_instructor(entered: str, env: Mapping[str, str] = os.environ) -> bool:
    """Whether ``entered`` is the instructor's secret; always False when none is set."""
    secret = Environment.read(env).instructor_key or ""
    return bool(secret) and hmac.compare_digest(entered.strip().encode(), secret.encode())


def instructor_token(env: Mapping[str, str] = os.environ) -> str | None:
    """What an instructor's browser keeps (a cookie) to stay an instructor across reloads: an HMAC
    of a fixed label under the secret, never the secret itself; a new secret voids old tokens.
    None when no secret is set."""
    secret = Environment.read(env).instructor_key or ""
    return hmac.new(secret.encode(), b"fmnist-lab instructor", "sha256").hexdigest() if secret else None


def is_instructor_token(token: object, env: Mapping[str, str] = os.environ) -> bool:
    expected = instructor_token(env)
    return expected is not None and isinstance(token, str) and hmac.compare_digest(token.encode(), expected.encode())


def is_mine(run: Run, owner: str | None) -> bool:
    return owner is not None and run.owner == owner


def may_stop(run: Run, owner: str | None, instructor: bool = False) -> bool:
    """Only the run's owner, or an instructor, may stop it or take it out of the queue."""
    return instructor or is_mine(run, owner)


def may_rename(run: Run, owner: str | None, instructor: bool = False) -> bool:
    return may_stop(run, owner, instructor)


def who_may_stop(run: Run) -> str:
    """A line for everyone else: who can stop this run."""
    if run.owner is None:
        return "It was started from the command line: only that terminal (Ctrl-C) or an instructor can stop it."
    return "Only the browser that started it, or an instructor, can stop it."


@dataclass
class Throttle:
    """Slows guessing: after a session's n-th wrong guess it waits ``first_wait``·2^(n-1) seconds (at most
    ``longest_wait``); all sessions together get at most ``server_limit`` wrong guesses per ``window``
    seconds, so new tabs do not multiply the rate. Thread-safe (Streamlit serves sessions on threads)."""

    clock: Callable[[], float] = time.monotonic
    first_wait: float = 1.0  # seconds after the first wrong guess
    longest_wait: float = 300.0  # the back-off stops doubling here
    server_limit: int = 20  # wrong guesses per window, every session together
    window: float = 60.0  # seconds
    max_sessions: int = 10_000  # the oldest session's record is dropped beyond this
    _sessions: OrderedDict[str, tuple[int, float]] = field(default_factory=OrderedDict)  # (wrong guesses, free at)
    _recent: deque[float] = field(default_factory=deque)  # when the server's latest wrong guesses came
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, session: str) -> int:
        """Whole seconds ``session`` must wait before its next guess counts (0: now)."""
        with self._lock:
            now = self.clock()
            while self._recent and self._recent[0] <= now - self.window:
                self._recent.popleft()
            server = self._recent[0] + self.window - now if len(self._recent) >= self.server_limit else 0.0
            mine = self._sessions.get(session, (0, now))[1] - now
            return math.ceil(max(server, mine, 0.0))

    def failed(self, session: str) -> None:
        """Record a wrong guess by ``session``."""
        with self._lock:
            now = self.clock()
            wrong = self._sessions.pop(session, (0, now))[0] + 1
            self._sessions[session] = (wrong, now + min(self.longest_wait, self.first_wait * 2 ** (wrong - 1)))
            if len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            self._recent.append(now)

    def succeeded(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)
