"""The engine's services: plain functions over the wheel, the database and an aware instant.

No Prefect here, and no clock reads. By concern:

- :mod:`.setup`: what a run needs besides the instant (:class:`~.setup.Setup`), and refusals;
- :mod:`.keys`: one logical message to queue (:class:`~.keys.Action`) and its idempotency key;
- :mod:`.audit`: the append-only audit log;
- :mod:`.messages`: building the message of an action (pure apart from the templates), dry-run
  previews and the generated documents;
- :mod:`.outbox`: queueing actions exactly once, sending, pause, and what the outbox says;
- :mod:`.letters`: which letters of an event are still to go;
- :mod:`.chase`: which reminders and escalations are due;
- :mod:`.submissions`: checking, storing and registering a handed-in file;
- :mod:`.readings`: what a stored form reads as;
- :mod:`.status`: who has handed in what;
- :mod:`.storage`: barometer readings and budget decisions;
- :mod:`.report_data`: what the status report and the budget overview show.

:mod:`flows.runs` composes them into runs; :mod:`flows.workflows` wraps those runs in Prefect.
"""
