"""Steps: how a composed run calls its services.

A run (:mod:`flows.runs`) is written once, as named steps: ``step("plan", plan_chase, st,
as_of)``. In this process a step is a plain call (:func:`call`); inside a Prefect flow it is
a Prefect task of the same name (:func:`flows.workflows.task_step`), so the UI shows the
same few steps a run is made of, and nothing else differs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from flows.report import MessageRow
from flows.services.keys import Action
from flows.services.messages import build_outgoing, document_paths, readings_by_goal, write_preview
from flows.services.outbox import PAUSED_NOTE, deliver, enqueue_actions, message_rows, paused
from flows.services.setup import Setup
from letters.mail import Outgoing
from models.kinds import MessageKind

T = TypeVar("T")


class Step(Protocol):
    def __call__(self, name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...


def call(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """A step in this process: the function itself."""
    return fn(*args, **kwargs)


def preview(st: Setup, actions: list[Action], as_of: datetime,
            directory: Path) -> tuple[list[Outgoing], list[str]]:
    """Dry run: build every message and write it (.eml and attachments) into ``directory``."""
    needs = any(a.kind == MessageKind.LETTER for a in actions)
    readings = readings_by_goal(st) if needs else None
    built = [build_outgoing(st, a, as_of, readings) for a in actions if a.send]
    return built, write_preview(st, directory, built)


class Carried:
    """What carrying out a batch of actions did: the messages and documents, and notes."""

    def __init__(self) -> None:
        self.messages: list[MessageRow] = []
        self.documents: list[str] = []
        self.notes: list[str] = []


def carry_out(st: Setup, actions: list[Action], as_of: datetime, *, step: Step,
              dry_run: bool, preview_dir: Path, replan: Callable[[], list[Action]],
              send: bool = True) -> Carried:
    """Queue ``actions`` exactly once and send them; or, in a dry run, only show them.

    The steps: ``preview`` (dry run), else ``build-and-enqueue`` and ``send``.
    """
    done = Carried()
    if dry_run:
        built, written = step("preview", preview, st, actions, as_of, preview_dir)
        done.documents += written
        done.messages = message_rows(st, [o.key for o in built], messages=built, dry_run=True)
        return done
    queued = step("build-and-enqueue", enqueue_actions, st, actions, as_of, replan=replan)
    if send:
        step("send", deliver, st)
    if paused(st):
        done.notes.append(PAUSED_NOTE)
    done.messages = message_rows(st, [o.key for o in queued], messages=queued)
    if st.documents is not None:
        done.documents += document_paths(queued)
    return done
