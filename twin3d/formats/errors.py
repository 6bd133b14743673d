"""The one error of this room: a file, map, unit or sample rate that cannot be used."""

from __future__ import annotations


class FormatError(ValueError):
    """One line, `FILE: field: problem`, for every bad file, channel map, unit or time base.
    The command line turns it into exit status 2."""

    def __init__(self, source: object, field: str, problem: str):
        self.source, self.field, self.problem = str(source), field, problem
        super().__init__(f"{self.source}: {field}: {problem}")
