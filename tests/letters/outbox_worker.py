"""A sender process for the crash and concurrency tests.

``python -m tests.letters.outbox_worker DB_URL SMTP_URL JOURNAL_DIR NOW`` runs
``send_pending`` once and prints its report as JSON. ``AARSHJUL_FAULT=phase:N`` makes it
kill itself (SIGKILL) at the N-th hit of the phase: this script reads the variable itself,
as a test's stand-in for the settings, and passes the hooks in.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path

from letters.delivery import FAULT_VARIABLE, Faults, SmtpTransport, send_pending
from letters.journal import Journal
from models.db import make_engine


def main(argv: list[str]) -> int:
    db, smtp, journal, now = argv
    engine = make_engine(db)
    report = send_pending(engine, SmtpTransport(smtp), Journal(Path(journal)),
                          now=datetime.fromisoformat(now), batch=5,
                          faults=Faults(os.environ.get(FAULT_VARIABLE)))
    print(json.dumps(report.as_dict()))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
