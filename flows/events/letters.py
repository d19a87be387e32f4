"""``do: letters``: the event's letter to each committee in its ``to``, once each, with the
form of every deliverable it opens; the letter opens the committee's requests."""

from __future__ import annotations

from flows.events.base import EventResult, EventRun
from flows.services.letters import plan_letters
from flows.services.steps import carry_out


def handle(run: EventRun) -> EventResult:
    st, year, key, as_of = run.st, run.year, run.event.key, run.as_of
    actions = run.step("plan", plan_letters, st, year, key, as_of)
    done = carry_out(st, actions, as_of, step=run.step, dry_run=run.dry_run,
                     preview_dir=run.preview, send=run.send,
                     replan=lambda: plan_letters(st, year, key, as_of))
    return EventResult(messages=done.messages, documents=done.documents, notes=done.notes)
