"""Shared test set-up. twin3d must be installed (`pip install -e .`): physics/ and io/ import
as twin3d.physics and twin3d.io only through the setuptools mapping."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("twin3d.physics") is None:  # pragma: no cover
    raise pytest.UsageError("twin3d is not installed: run `bash .ci/setup` (pip install -e .)")
