"""Crash-test hooks: the sender kills itself with SIGKILL at a named phase.

``Faults("phase:N")`` kills the process at the N-th hit of ``phase``: the sender's
``after_claim``, ``during_data`` (half the message data written), ``after_250_before_commit``
or ``after_commit``, or the journal's ``between_index_and_csv`` (a record's index.jsonl line
written, its index.csv row not yet). The spec comes from ``AARSHJUL_FAULT``, which only
``flows/settings.py`` reads; whoever starts the sender passes the hooks in
(``send_pending(..., faults=...)``, ``Journal(dir, faults=...)``). Without a spec nothing
happens.
"""

from __future__ import annotations

import os
import signal

FAULT_VARIABLE = "AARSHJUL_FAULT"  # where the spec comes from (named in messages)
PHASES = ("after_claim", "during_data", "after_250_before_commit", "after_commit")  # sender
JOURNAL_PHASES = ("between_index_and_csv",)


class Faults:
    """SIGKILL this process at the N-th hit of a phase (``phase:N``); ``None``: never."""

    def __init__(self, spec: str | None = None) -> None:
        self.phase: str | None = None
        self.nth = 0
        self.hits: dict[str, int] = {}
        if spec:
            phase, _, n = spec.partition(":")
            phases = PHASES + JOURNAL_PHASES
            if phase not in phases or not n.isdigit() or int(n) < 1:
                raise ValueError(
                    f"{FAULT_VARIABLE}={spec!r}: use one of {', '.join(phases)} and :N")
            self.phase, self.nth = phase, int(n)

    def __repr__(self) -> str:
        return f"Faults({self.phase}:{self.nth})" if self.phase else "Faults(None)"

    def armed(self, phase: str) -> bool:
        return self.phase == phase

    def hit(self, phase: str) -> None:
        self.hits[phase] = self.hits.get(phase, 0) + 1
        if self.phase == phase and self.hits[phase] == self.nth:
            os.kill(os.getpid(), signal.SIGKILL)
