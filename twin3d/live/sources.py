"""Every source the live twin can open: the schemes of `twin3d.io` and the simulated rig's `sim`.

`twin3d.io` knows nothing of the rig, so `sim` registers itself in `twin3d.rig.inprocess`;
importing this module makes sure it has. Open sources from here (`open_source`), not from
`twin3d.io.sources`, wherever `sim` may be asked for.
"""

from __future__ import annotations

import twin3d.formats.replay_file  # noqa: F401  (registers `replay:FILE.uff?map=...`)
import twin3d.rig.inprocess  # noqa: F401  (registers the `sim` scheme)
from twin3d.io.sources import open_source, registered_schemes

__all__ = ["open_source", "registered_schemes"]
