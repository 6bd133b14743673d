"""Sweep fixtures: one Dask LocalCluster (2 worker processes, one thread each) for the whole
session, standing in for a multi-node cluster, and the default scene."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dask_cluster():
    from twin3d.sweep.dask_cluster import local_cluster

    cluster = local_cluster(n_workers=2)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def dask_spec(dask_cluster):
    """The cluster as `--executor dask://HOST:PORT` names it."""
    from twin3d.sweep.executors import parse_executor

    return parse_executor("dask://" + dask_cluster.scheduler_address.removeprefix("tcp://"))


@pytest.fixture(scope="session")
def scene():
    from twin3d.scenefile.records import load_scene

    return load_scene("three_storey")
