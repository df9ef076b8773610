"""Whose run is it: owner keys kept by the browser, and who may stop or rename a run.

A browser keeps a random owner key (a cookie); a run stores only its digest, so reading a
run's files never reveals a key that would let someone act as its owner. Runs with no owner
were started from the command line: only that process (Ctrl-C, ``kill``) or an instructor
stops them. The instructor proves who they are once per session with the secret in
``FMNIST_INSTRUCTOR_KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
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
