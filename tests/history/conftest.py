"""A real PostgreSQL for the history tests: a private cluster in a temporary folder, started once
per session with initdb and pg_ctl as the unprivileged user `nobody` (PostgreSQL refuses to run as
root), on a free loopback port (`twin3d.bench.history.PrivatePostgres`, which the figures use
too); each test gets a database of its own. `store_url` runs a test on both engines: a fresh
SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

import pytest

from twin3d.bench.history import PrivatePostgres


@pytest.fixture(scope="session")
def postgres():
    pg = PrivatePostgres(fsync=False).start()
    yield pg
    pg.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty store on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    return request.getfixturevalue("postgres").new_database()
