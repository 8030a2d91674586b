"""The throwaway PostgreSQL helper never creates users: as root it names the fix instead."""

from __future__ import annotations

import os

import pytest

from devsupport.postgres import PostgresUnavailable, find_postgres_bindir, start_postgres

pytestmark = [
    pytest.mark.skipif(
        not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root needs another user"
    ),
    pytest.mark.skipif(find_postgres_bindir() is None, reason="no PostgreSQL binaries"),
]


@pytest.mark.parametrize(
    ("user", "problem"),
    [
        ("no-such-user-here", "there is no user 'no-such-user-here'"),
        ("root", "user 'root' is root"),
    ],
)
def test_as_root_without_an_unprivileged_user_it_says_what_to_set(monkeypatch, user, problem):
    monkeypatch.setenv("CHATBOTMAKER_PG_USER", user)
    with pytest.raises(PostgresUnavailable) as raised:
        start_postgres()
    assert str(raised.value) == (
        f"running as root and {problem}: initdb refuses to run as root; set "
        "$CHATBOTMAKER_PG_USER to an existing unprivileged user (e.g. after `useradd --system "
        "chatbotmaker-pg`, as .ci/run does), or run the tests as a non-root user"
    )
