"""What the modal-testing files hold besides time series: FRF sets, mode sets and geometry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from twin3d.formats.errors import FormatError

BASE_NODE = 1000  # the base (table) of a chain geometry; floor K is node K
SWAY_DIR = 1  # UFF direction of the storeys' sway: +X (the height is +Z)


@dataclass(frozen=True, eq=False)
class FrfSet:
    """Frequency response functions `h[f, out, in]` (complex, SI): accelerance (m/s^2 per N)
    when the inputs are forces, transmissibility (m/s^2 per m/s^2) when the input is the base's
    acceleration. `coherence[f, out]` when the file had it."""

    freq_hz: np.ndarray
    h: np.ndarray
    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    kind: str
    coherence: np.ndarray | None = None
    source: str = ""
    headers: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        f = np.asarray(self.freq_hz, dtype=np.float64).ravel()
        h = np.asarray(self.h, dtype=np.complex128)
        if h.ndim == 2:
            h = h[:, :, None]
        object.__setattr__(self, "freq_hz", f)
        object.__setattr__(self, "h", h)
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        if h.shape != (f.size, len(self.outputs), len(self.inputs)):
            raise FormatError(self.source, "frf", f"h has shape {h.shape}, expected "
                              f"({f.size}, {len(self.outputs)}, {len(self.inputs)})")
        if self.kind not in ("accelerance", "transmissibility"):
            raise FormatError(self.source, "frf", f"kind {self.kind!r} is neither accelerance "
                              "nor transmissibility")
        if self.coherence is not None:
            c = np.asarray(self.coherence, dtype=np.float64)
            if c.shape != (f.size, len(self.outputs)):
                raise FormatError(self.source, "coherence", f"shape {c.shape}, expected "
                                  f"({f.size}, {len(self.outputs)})")
            object.__setattr__(self, "coherence", c)


@dataclass(frozen=True, eq=False)
class ModeSet:
    """Modes: `shapes[dof, mode]` with `nodes[dof]` and `directions[dof]` (UFF: 1 +X, 2 +Y,
    3 +Z) saying where each row is; complex shapes for complex modes."""

    freq_hz: np.ndarray
    damping_ratio: np.ndarray
    shapes: np.ndarray
    nodes: np.ndarray
    directions: np.ndarray | None = None
    source: str = ""
    headers: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, eq=False)
class Geometry:
    """Nodes with their coordinates (m), trace lines (sequences of nodes) and, for a chain of
    storeys, which node is the base and which are the floors 1..N (the rows of its shapes)."""

    nodes: np.ndarray
    xyz: np.ndarray
    lines: tuple[np.ndarray, ...] = ()
    floor_nodes: tuple[int, ...] = ()
    base_node: int | None = None
    source: str = ""
    headers: dict = field(default_factory=dict, compare=False, repr=False)

    def node_of(self, role: str) -> tuple[int, int]:
        """(node, UFF direction) where a role's sensor sits: the base for acc_table/force_base,
        floor K for acc_floorK/force_floorK; (0, 0), a scalar, for anything else."""
        kind, _, where = role.partition("_")
        if kind in ("acc", "force"):
            if where in ("table", "base") and self.base_node is not None:
                return self.base_node, SWAY_DIR
            if where.startswith("floor") and where[5:].isdigit():
                k = int(where[5:])
                if 1 <= k <= len(self.floor_nodes):
                    return self.floor_nodes[k - 1], SWAY_DIR
        return 0, 0


def chain_geometry(floor_heights_m: Sequence[float], source: str = "") -> Geometry:
    """A shear frame as modal software draws it: the base at the origin, floor K above it at
    its height on +Z (node K), one trace line base -> floor 1 -> ... -> floor N."""
    z = np.asarray(floor_heights_m, dtype=np.float64).ravel()
    n = z.size
    if n < 1 or not np.all(np.isfinite(z)):
        raise FormatError(source, "geometry", "a chain needs at least one finite floor height")
    nodes = np.array([BASE_NODE, *range(1, n + 1)])
    xyz = np.zeros((n + 1, 3))
    xyz[1:, 2] = z
    return Geometry(nodes, xyz, (nodes.copy(),), tuple(range(1, n + 1)), BASE_NODE, source)
