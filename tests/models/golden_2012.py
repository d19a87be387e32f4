"""The golden plan for Copenhagen 2012, written by hand from a calendar.

Nothing here was produced by the code under test: the weekdays come from a printed 2012
calendar (checked with ``python3 -c "import datetime; ..."``), the holidays from
helligdagsloven, the DST days from the EU rule (last Sunday of March and of October).
``tests/models/test_plan.py::test_golden_plan_copenhagen_2012`` compares
``year_plan(load("aarshjul.yaml").wheel, 2012)`` with it.

2012 is a leap year; 1 January is a Sunday, Easter Sunday is 8 April.

Public holidays in 2012 (helligdage), and what they do to this plan:
- Nytårsdag        Sun  1 Jan   (a Sunday anyway)
- Skærtorsdag      Thu  5 Apr   no slot lands on it: handleplan's before-14 is Tue 17 Apr
- Langfredag       Fri  6 Apr   idem
- Påskedag         Sun  8 Apr
- 2. påskedag      Mon  9 Apr   idem
- Store Bededag    Fri  4 May   between handleplan's after-1 (Wed 2 May) and after-7 (Tue 8
                                May); nothing is due on it, so nothing moves
- Kristi Himmelf.  Thu 17 May   the day after redegoerelse's after-1 (Wed 16 May)
- Pinsedag         Sun 27 May
- 2. pinsedag      Mon 28 May   the day before redegoerelse's escalate: 15 May + 14 days
                                = Tue 29 May, itself a business day, so it does not move
- Juledag          Tue 25 Dec
- 2. juledag       Wed 26 Dec
Not holidays: 1 May (Tue; not in helligdagsloven, so a business day: handleplan is due
that day and redegoerelse's before-14 is sent on it) and Grundlovsdag (Tue 5 Jun).
Closed days of the policy (closed_days "12-24", "12-31"): Mon 24 Dec and Mon 31 Dec 2012.

DST (Europe/Copenhagen): CET (+01:00) until Sun 25 Mar 2012 02:00, CEST (+02:00) from then
until Sun 28 Oct 2012 03:00, CET again after. So the January-March events carry +01:00,
every slot (17 April - 29 May) and the events of June-October carry +02:00.

No event of 2012 falls on a weekend or holiday, so every event runs on its own date at
send_time 09:00. No deliverable's due date is closed (1 May and 15 May are Tuesdays), so
if_closed: next moves nothing in 2012. No two reminder slots fall on the same day, so
nothing is merged.
"""

from __future__ import annotations

from datetime import date

YEAR = 2012
TIMEZONE = "Europe/Copenhagen"

HOLIDAYS_2012 = [
    date(2012, 1, 1),  # Nytårsdag, Sunday
    date(2012, 4, 5),  # Skærtorsdag (Easter Sunday is 8 April 2012)
    date(2012, 4, 6),  # Langfredag
    date(2012, 4, 8),  # Påskedag
    date(2012, 4, 9),  # 2. påskedag
    date(2012, 5, 4),  # Store Bededag: the 4th Friday after Easter (abolished from 2024)
    date(2012, 5, 17),  # Kristi Himmelfartsdag: Easter + 39 days, a Thursday
    date(2012, 5, 27),  # Pinsedag: Easter + 49 days
    date(2012, 5, 28),  # 2. pinsedag
    date(2012, 12, 25),  # Juledag
    date(2012, 12, 26),  # 2. juledag
]

CLOSED_2012 = [
    date(2012, 12, 24),  # Juleaften, Monday (closed_days "12-24")
    date(2012, 12, 31),  # Nytårsaften, Monday (closed_days "12-31")
]

# (key, nominal date, day it runs, instant at send_time 09:00 with the offset of that day),
# in the order of the plan (by instant).
EVENTS = [
    # Tue 10 Jan 2012, winter time
    ("barometer-januar", date(2012, 1, 10), date(2012, 1, 10), "2012-01-10T09:00:00+01:00"),
    # Fri 20 Jan 2012: the opfordringsskrivelse opens both deliverables for all 7 committees
    ("opfordring", date(2012, 1, 20), date(2012, 1, 20), "2012-01-20T09:00:00+01:00"),
    # Wed 15 Feb 2012
    ("konference-invitation", date(2012, 2, 15), date(2012, 2, 15), "2012-02-15T09:00:00+01:00"),
    # Thu 15 Mar 2012: ten days before spring-forward (Sun 25 Mar), still +01:00
    ("konference", date(2012, 3, 15), date(2012, 3, 15), "2012-03-15T09:00:00+01:00"),
    # Tue 12 Jun 2012, summer time
    ("borgmestersamtaler", date(2012, 6, 12), date(2012, 6, 12), "2012-06-12T09:00:00+02:00"),
    # Tue 10 Jul 2012
    ("barometer-juli", date(2012, 7, 10), date(2012, 7, 10), "2012-07-10T09:00:00+02:00"),
    # Wed 15 Aug 2012
    ("statusrapport", date(2012, 8, 15), date(2012, 8, 15), "2012-08-15T09:00:00+02:00"),
    # Mon 8 Oct 2012: twenty days before fall-back (Sun 28 Oct), still +02:00
    ("budget", date(2012, 10, 8), date(2012, 10, 8), "2012-10-08T09:00:00+02:00"),
]

OPENS = {"opfordring": ("handleplan", "redegoerelse")}

# (key, nominal due, due as moved by if_closed: next)
DELIVERABLES = [
    ("handleplan", date(2012, 5, 1), date(2012, 5, 1)),  # Tue 1 May: a business day in DK
    ("redegoerelse", date(2012, 5, 15), date(2012, 5, 15)),  # Tue 15 May
]

COMMITTEES = ["OEU", "BUU", "KFU", "SUU", "SOU", "TMU", "BIU"]  # all in both `from`s
OPENED_BY = "opfordring"
OPENED_AT = "2012-01-20T09:00:00+01:00"

# Every committee gets the same ladder: one letter (opfordring, 20 Jan) opens all of them.
# (slot name, day, instant, merged)
SLOTS = {
    "handleplan": [  # due Tue 1 May 2012; before 14/7/1, after 1/7, escalate 14
        ("before-14", date(2012, 4, 17), "2012-04-17T09:00:00+02:00", ()),  # Tue; 1 May - 14
        ("before-7", date(2012, 4, 24), "2012-04-24T09:00:00+02:00", ()),  # Tue; 1 May - 7
        ("before-1", date(2012, 4, 30), "2012-04-30T09:00:00+02:00", ()),  # Mon; 1 May - 1
        ("after-1", date(2012, 5, 2), "2012-05-02T09:00:00+02:00", ()),  # Wed; 1 May + 1
        # Tue 8 May = 1 May + 7; the Store Bededag (Fri 4 May) in between moves nothing
        ("after-7", date(2012, 5, 8), "2012-05-08T09:00:00+02:00", ()),
        ("escalate", date(2012, 5, 15), "2012-05-15T09:00:00+02:00", ()),  # Tue; 1 May + 14
    ],
    "redegoerelse": [  # due Tue 15 May 2012; the same ladder
        # Tue 1 May = 15 May - 14: not a holiday in DK, so the reminder goes out on 1 May
        ("before-14", date(2012, 5, 1), "2012-05-01T09:00:00+02:00", ()),
        ("before-7", date(2012, 5, 8), "2012-05-08T09:00:00+02:00", ()),  # Tue; 15 May - 7
        ("before-1", date(2012, 5, 14), "2012-05-14T09:00:00+02:00", ()),  # Mon; 15 May - 1
        # Wed 16 May = 15 May + 1, the day before Kristi Himmelfartsdag (Thu 17 May)
        ("after-1", date(2012, 5, 16), "2012-05-16T09:00:00+02:00", ()),
        ("after-7", date(2012, 5, 22), "2012-05-22T09:00:00+02:00", ()),  # Tue; 15 May + 7
        # Tue 29 May = 15 May + 14; 2. pinsedag is Mon 28 May, the 29th is a business day
        ("escalate", date(2012, 5, 29), "2012-05-29T09:00:00+02:00", ()),
    ],
}
