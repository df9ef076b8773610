"""Who may stop a run: the owner, an instructor, nobody else; keys never stored in the clear."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from fmnist_lab import Run, RunStore, TrainConfig
from fmnist_lab.execution import ownership

MINE, THEIRS = "a" * 32, "b" * 32


def run_of(owner_key: str | None) -> Run:
    owner = None if owner_key is None else ownership.owner_id(owner_key)
    return RunStore().create(TrainConfig(), owner=owner)


@pytest.mark.parametrize(
    ("started_by", "asking", "instructor", "allowed"),
    [
        (MINE, MINE, False, True),
        (MINE, THEIRS, False, False),
        (MINE, None, False, False),
        (MINE, THEIRS, True, True),
        (None, MINE, False, False),  # the command line's run: only its terminal stops it
        (None, None, False, False),
        (None, MINE, True, True),
    ],
)
def test_only_the_owner_or_an_instructor_may_stop(
    started_by: str | None, asking: str | None, instructor: bool, allowed: bool
) -> None:
    run = run_of(started_by)
    asker = None if asking is None else ownership.owner_id(asking)
    assert ownership.may_stop(run, asker, instructor) is allowed
    assert ownership.may_rename(run, asker, instructor) is allowed


def test_a_run_stores_a_digest_not_the_browser_key() -> None:
    run = run_of(MINE)
    assert run.owner is not None and MINE not in run.owner
    assert ownership.owner_id(MINE) != ownership.owner_id(THEIRS)


def test_new_keys_are_random_and_valid() -> None:
    keys = {ownership.new_key() for _ in range(20)}
    assert len(keys) == 20 and all(ownership.valid_key(key) for key in keys)


@pytest.mark.parametrize("cookie", [None, "", "cli", "A" * 32, "a" * 31, "a" * 33, "g" * 32, "a" * 32 + "\n"])
def test_odd_cookies_are_not_keys(cookie: str | None) -> None:
    assert not ownership.valid_key(cookie)


@pytest.mark.parametrize(
    ("secret", "entered", "accepted"),
    [("s3cret", "s3cret", True), ("s3cret", " s3cret ", True), ("s3cret", "s3cre", False), ("", "", False)],
)
def test_the_instructor_key(secret: str, entered: str, accepted: bool) -> None:
    env = {ownership.INSTRUCTOR_ENV: secret}
    assert ownership.is_instructor(entered, env) is accepted
    assert ownership.instructor_enabled(env) is bool(secret)
    assert not ownership.is_instructor(entered, {})


def test_someone_else_is_told_who_can_stop() -> None:
    assert "command line" in ownership.who_may_stop(run_of(None))
    assert "browser that started it" in ownership.who_may_stop(run_of(MINE))


def test_an_instructors_cookie_holds_a_token_under_the_secret_never_the_secret() -> None:
    env = {ownership.INSTRUCTOR_ENV: "s3cret"}
    token = ownership.instructor_token(env)
    expected = hmac.new(b"s3cret", b"fmnist-lab instructor", hashlib.sha256).hexdigest()
    assert token == expected and "s3cret" not in token
    assert ownership.is_instructor_token(token, env)
    assert not ownership.is_instructor_token(token, {ownership.INSTRUCTOR_ENV: "new secret"})  # a new secret voids it
    assert not ownership.is_instructor_token(token, {})  # no secret set: nobody is an instructor
    assert ownership.instructor_token({}) is None
    for forged in (None, "", "s3cret", token[:-1], 42):
        assert not ownership.is_instructor_token(forged, env)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_sessions_wrong_guesses_wait_twice_as_long_each_time_up_to_a_limit() -> None:
    clock = FakeClock()
    throttle = ownership.Throttle(clock=clock, first_wait=1, longest_wait=60, server_limit=1000)
    waits = []
    for _ in range(9):
        assert throttle.wait("tab") == 0
        throttle.failed("tab")
        waits.append(throttle.wait("tab"))
        clock.now += waits[-1] - 0.5
        assert throttle.wait("tab") == 1  # half a second left, rounded up
        clock.now += 0.5
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert throttle.wait("another tab") == 0  # its own record
    throttle.succeeded("tab")
    throttle.failed("tab")
    assert throttle.wait("tab") == 1  # a right guess starts the back-off again


def test_new_sessions_do_not_multiply_the_servers_rate() -> None:
    """A flood from many tabs: at most ``server_limit`` wrong guesses per window, for everyone together."""
    clock = FakeClock()
    throttle = ownership.Throttle(clock=clock, server_limit=5, window=60)
    counted = 0
    for second in range(120):  # one new tab per guess, two guesses a second, two minutes
        for tab in range(2):
            session = f"tab-{second}-{tab}"
            if throttle.wait(session) == 0:
                throttle.failed(session)
                counted += 1
        clock.now += 1
    assert counted == 10  # 5 in each of the two windows, not 240
    clock.now += 60
    assert throttle.wait("late tab") == 0


def test_the_server_wait_is_until_the_oldest_guess_leaves_the_window() -> None:
    clock = FakeClock()
    throttle = ownership.Throttle(clock=clock, server_limit=2, window=60)
    throttle.failed("a")
    clock.now += 10
    throttle.failed("b")
    assert throttle.wait("c") == 50
    clock.now += 50
    assert throttle.wait("c") == 0


def test_the_session_records_are_bounded() -> None:
    throttle = ownership.Throttle(clock=FakeClock(), max_sessions=3, server_limit=1000)
    for tab in "abcd":
        throttle.failed(tab)
    assert throttle.wait("a") == 0 and throttle.wait("d") == 1  # the oldest record was dropped
