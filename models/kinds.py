"""The closed vocabularies of the engine, as StrEnums.

Each member is its own stored and printed value (``MessageKind.LETTER == "letter"``), so the
database, the e-mail headers and ``summary.json`` carry the same words as before. Code
compares and branches on members, never on bare strings or on the prefix of a name.
"""

from __future__ import annotations

from enum import StrEnum


class MessageKind(StrEnum):
    """``X-Aarshjul-Kind``: what a message is (README "E-mail")."""

    LETTER = "letter"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    RECEIPT = "receipt"
    REPORT = "report"
    NOTICE = "notice"
    REFUSAL = "refusal"
    DIGEST = "digest"
    ALERT = "alert"


# the Danish name of each message kind, singular and plural, in the order a run lists them
MESSAGE_KIND_DA: dict[str, tuple[str, str]] = {
    MessageKind.LETTER: ("brev", "breve"),
    MessageKind.REMINDER: ("påmindelse", "påmindelser"),
    MessageKind.ESCALATION: ("eskalering", "eskaleringer"),
    MessageKind.RECEIPT: ("kvittering", "kvitteringer"),
    MessageKind.REPORT: ("rapport", "rapporter"),
    MessageKind.NOTICE: ("meddelelse", "meddelelser"),
    MessageKind.DIGEST: ("ugeoversigt", "ugeoversigter"),
    MessageKind.REFUSAL: ("afvisning", "afvisninger"),
    MessageKind.ALERT: ("advarsel", "advarsler"),
}


class BodyKind(StrEnum):
    """Which e-mail template writes the body. ``reminder`` (påmindelse, before the deadline)
    and ``overdue`` (rykker, after it) are both sent as :attr:`MessageKind.REMINDER`."""

    LETTER = "letter"
    REMINDER = "reminder"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    RECEIPT = "receipt"
    REPORT = "report"
    NOTICE = "notice"  # a coordinator's action (or a moved deadline) told to a committee
    DIGEST = "digest"  # the weekly overview for the coordinator
    REFUSAL = "refusal"  # a committee's mail whose file could not be taken (the mail intake)


class OutboxStatus(StrEnum):
    """An outbox row moves pending → claimed → sending → sent, or ends failed/uncertain."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


WAITING = (OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.SENDING)


class AlertKind(StrEnum):
    """What the coordinator is told about one outbox row."""

    FAILED = "failed"
    UNCERTAIN = "uncertain"
    REFUSED = "refused"
    JOURNAL = "journal"
    BOUNCED = "bounced"  # a delivery status notification came back (the mail intake)


class AlertChange(StrEnum):
    """What a watchdog alert says of its condition (README "Monitoring")."""

    RAISED = "raised"  # it has failed for its grace period
    RECOVERED = "recovered"  # it holds again


class RequestStatus(StrEnum):
    """A request's status. ``open``, ``on_time``, ``late`` and ``excused`` are stored;
    ``missing`` is derived (open past its due date, or open at the end of the year)."""

    OPEN = "open"
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    EXCUSED = "excused"  # fritaget by the coordinator (``aarshjul excuse``)


# the Danish word of each status, in the order the reports and the site list them
STATUS_DA: dict[str, str] = {RequestStatus.ON_TIME: "rettidig", RequestStatus.LATE: "for sen",
                             RequestStatus.MISSING: "mangler", RequestStatus.OPEN: "afventer",
                             RequestStatus.EXCUSED: "fritaget"}
CLOSED_RECEIVED = (RequestStatus.ON_TIME, RequestStatus.LATE)
CLOSED = (RequestStatus.ON_TIME, RequestStatus.LATE, RequestStatus.EXCUSED)


class SlotKind(StrEnum):
    BEFORE = "before"  # påmindelse
    AFTER = "after"  # rykker
    ESCALATE = "escalate"  # eskalering


class SlotOutcome(StrEnum):
    """What happened to one derived slot of a request."""

    SENT = "sent"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    """``do:`` of an event in the wheel."""

    LETTERS = "letters"
    BAROMETER = "barometer"
    STATUS_REPORT = "status_report"
    BUDGET = "budget"
    MEETING = "meeting"


class RunKind(StrEnum):
    EVENT = "event"
    CHASE = "chase"
    RECEIPT = "receipt"
    SIMULATE = "simulate"
    ACTION = "action"  # a coordinator's action (extend, excuse, reopen, resend, pause, ...)
    DIGEST = "digest"
    INTAKE = "intake"  # a pass over the replies mailbox (README "Replies by e-mail")


class SubmissionVia(StrEnum):
    """How a scenario's submission arrives in a simulated year (README "The mail intake in
    operation")."""

    FILE = "file"  # handed in as ``aarshjul submit`` does
    MAIL = "mail"  # a reply to the letter, through the mail intake


class ActionKind(StrEnum):
    """A coordinator's action (README "The coordinator's desk"), as audited."""

    EXTEND = "extend"
    EXCUSE = "excuse"
    REOPEN = "reopen"
    RESEND = "resend"
    PAUSE = "pause"
    RESUME = "resume"
    ACCEPT = "accept"  # a message held by the mail intake, registered by hand
    DISMISS = "dismiss"  # a message held by the mail intake, set aside


class NoticeCause(StrEnum):
    """Why a committee gets a ``notice``."""

    EXTENDED = "extended"  # its own due date was extended
    EXCUSED = "excused"  # the request was closed as excused
    REOPENED = "reopened"  # a registration was withdrawn: the request is open again
    WITHDRAWN = "withdrawn"  # a later registration was withdrawn; an earlier one stands
    MOVED = "moved"  # the wheel's due date was moved later: a new ladder
    UNEXCUSED = "unexcused"  # an excuse was withdrawn: the request is open again


class LetterState(StrEnum):
    """How the letter that opened a request fared, for the requests table and the chase.

    ``failed`` and ``bounced`` mean the committee never got it: its reminders are held
    until the letter is sent again (``aarshjul resend``) and delivered."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # the mail server refused it for good (5xx, or retries used up)
    BOUNCED = "bounced"  # accepted, then a delivery status notification came back
    RESENT = "resent"  # sent again after a failure or bounce, and delivered


UNDELIVERED = (LetterState.FAILED, LetterState.BOUNCED)


class IntakeFolder(StrEnum):
    """Where the mail intake moves a message it has handled (README "Replies by e-mail"):
    a folder under the intake's mailbox, ``<MAILBOX><sep>aarshjul<sep><this>``."""

    HANDLED = "behandlet"  # registered, or otherwise settled without the coordinator
    COORDINATOR = "til-koordinator"  # held for the coordinator to look at


class InboundKind(StrEnum):
    """What an incoming message is (``letters.inbound``)."""

    PERSON = "person"  # a person's mail: a reply that may carry a submission
    AUTO_REPLY = "auto_reply"  # out of office and other automatic replies (RFC 3834)
    BOUNCE = "bounce"  # a delivery status notification (RFC 3464) or another bounce
    UNREADABLE = "unreadable"  # over a limit or too broken to describe: held as it is


class IdentityStatus(StrEnum):
    """What a submitted file says about the form it was made from (``letters.docprops``)."""

    FOUND = "found"  # year, committee and deliverable, intact
    NONE = "none"  # no form identity (not our form, or one made before it existed)
    MALFORMED = "malformed"  # properties there, but broken or incomplete
    FORGED = "forged"  # well-formed, but not matching its check value


class IntakeOutcome(StrEnum):
    """What the mail intake did with one incoming message (README "Replies by e-mail")."""

    REGISTERED = "registered"  # its form(s) registered as a submission, receipt queued
    HELD = "held"  # for the coordinator: no single request, a stranger, no .docx, unreadable
    REFUSED = "refused"  # its file was refused (a .docm ...): a refusal queued, or held
    BOUNCED = "bounced"  # a delivery status notification about one of our messages
    AUTO_REPLY = "auto_reply"  # an out-of-office or other automatic reply: held, unanswered
    DISMISSED = "dismissed"  # set aside by the coordinator (``aarshjul intake dismiss``)
    ACCEPTED = "accepted"  # registered by hand by the coordinator (``aarshjul intake accept``)


HELD_OUTCOMES = (IntakeOutcome.HELD, IntakeOutcome.REFUSED, IntakeOutcome.AUTO_REPLY)


class PurgeKind(StrEnum):
    """A kind of record with a retention (README "Data protection"), as ``purge`` lists it."""

    OUTBOX_ATTACHMENTS = "outbox attachments"
    OUTBOX_BODIES = "outbox bodies"
    JOURNAL = "journal copies"
    DOCUMENTS = "documents"
    SUBMISSIONS = "submissions"
    AUDIT = "audit log"
    PREFECT_ARTIFACTS = "prefect artifacts"
    PREFECT_RUNS = "prefect flow runs"


class RecordAction(StrEnum):
    """The records verbs, as audited (README "Data protection")."""
    PURGE = "purge"
    EXPORT = "export"
