"""The safety latch: once engaged (an e-stop, a drift trip), only `reset` clears it, and until
then every command is refused but those that can only make the rig safer (DESIGN.md section 5):
`reset`, a repeated `estop`, `stop` and `set_control strategy=off`. A latched rig must always be
recoverable: the operator can stop the motor and switch the controller off without first
clearing the latch (which would re-arm whatever tripped it).

One small state record shared by everything that keeps such a latch: the rig's interlocks
(`twin3d.rig.interlocks`), the simulated rig behind the kiosk and demo feeds
(`twin3d.live.feeds.SimFeed`) and the motor panel, which latches at once when E-STOP is pressed
and when the rig reports one. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

OK, ESTOP, TRIPPED = "ok", "estop", "tripped"

# the ops a latched latch lets through: reset clears it, an e-stop is always obeyed, and a stop
# (ramp the motor down; the e-stop's brake stays on) only makes the rig safer
PASS_WHILE_LATCHED = ("reset", "estop", "stop")
# ops let through only with these arguments, which make them safer too: the controller off
PASS_WHILE_LATCHED_WITH = {"set_control": {"strategy": "off"}}
DEFAULT_REFUSAL = "{state} latched{reason}: send reset first"


class Latch:
    """`state` is OK until `engage(reason, state)`; `release()` makes it OK again.

    `refusal` is the one-line refusal of an op that the latch holds back, a format string
    with {state} (estop, tripped) and {reason} (" (why)", or "" when no reason was given):
    each holder words it for its reader, the rule of what passes is the latch's."""

    def __init__(self, refusal: str = DEFAULT_REFUSAL):
        self.refusal = refusal
        self.state = OK
        self.reason = ""

    @property
    def latched(self) -> bool:
        return self.state != OK

    def engage(self, reason: str = "", state: str = ESTOP) -> None:
        """Latch as `state` (estop or tripped), or re-latch as another (an e-stop during a
        drift trip becomes an e-stop)."""
        if state == OK:
            raise ValueError("engage needs a latched state (estop, tripped), not ok")
        self.state, self.reason = state, reason

    def release(self) -> str:
        """Clear the latch; returns the state it was in."""
        was, self.state, self.reason = self.state, OK, ""
        return was

    def admits(self, op: str, args: Mapping | None = None) -> str | None:
        """None when `op` with arguments `args` may go ahead (not latched, or one of
        PASS_WHILE_LATCHED, or an op of PASS_WHILE_LATCHED_WITH with those arguments); else why
        not, in this latch's wording."""
        if not self.latched or op in PASS_WHILE_LATCHED:
            return None
        need = PASS_WHILE_LATCHED_WITH.get(op)
        if need and isinstance(args, Mapping) and all(args.get(k) == v for k, v in need.items()):
            return None
        return self.refusal.format(state=self.state,
                                   reason=f" ({self.reason})" if self.reason else "")
