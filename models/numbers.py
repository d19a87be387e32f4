"""Danish numbers and amounts, written and read in one place.

Writing: :func:`dansk_tal` (``1.234,5``), :func:`with_unit` (``7,4 %``), :func:`format_dkk`
(``1.500.000 kr.``), :func:`format_mio_dkk` (``1,5 mio. kr.``) and :func:`count_text`
(``1 rettidig``, ``2 rettidige``). An amount ends with the abbreviation ``kr.``: text that
puts an amount at the end of a sentence closes it with :func:`end_sentence`, never with a
second full stop.

Reading: :func:`parse_dkk` turns an amount as committees write it into whole kroner:
``parse_dkk("1.500.000 kr.") == 1_500_000``, ``parse_dkk("1,5 mio. kr.") == 1_500_000``,
``parse_dkk("kr. 250.000,-") == 250_000``, ``parse_dkk("500 t.kr.") == 500_000``,
``parse_dkk("2 mia. kr.") == 2_000_000_000``; ``None`` for what is not one amount
("1-2 mio.", "se bilag", "") and for an implausible one (more than :data:`MAX_DKK`,
1.000 mia. kr.). :func:`read_dkk` says which of the two it was. Neither ever raises.

Number rules (Danish first): ``.`` groups thousands and ``,`` is the decimal mark
(``1.500.000,50``); where both appear, the last one is the decimal mark (so ``1,500,000.00``
reads too). A lone ``.`` followed by exactly three digits groups thousands (``1.500`` is
1500); otherwise it is a decimal point (``1.5 mio``). A lone ``,`` is a decimal comma
(``1,5 mio``), except ``250,000`` without a unit word, read as 250000: no one writes kroner
with three decimals. Spaces may group thousands (``1 500 000``). Øre are rounded half up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext

MAX_DKK = 1_000_000_000_000  # more than any municipal initiative: refused as implausible
MAX_DKK_TEXT = "1.000 mia. kr."  # MAX_DKK as a coordinator reads it


# --- writing ------------------------------------------------------------------------------


def dansk_tal(value: float) -> str:
    """``5.8`` -> ``5,8``; ``1234.5`` -> ``1.234,5``; whole numbers without decimals (at most
    two decimals are shown)."""
    if value != value:  # NaN
        return "–"
    sign = "-" if value < 0 else ""
    v = abs(value)
    # a whole number exactly (a sum of kroner may exceed a float's 15 digits)
    text = str(v) if isinstance(v, int) else f"{v:.2f}".rstrip("0").rstrip(".")
    whole, _, frac = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + ".".join(groups) + ("," + frac if frac else "")


def with_unit(value: float, unit: str) -> str:
    """``7,4 %``; the number alone when there is no unit."""
    return f"{dansk_tal(value)} {unit}" if unit else dansk_tal(value)


def format_dkk(amount: int) -> str:
    """``1500000`` -> ``1.500.000 kr.``"""
    return f"{dansk_tal(amount)} kr."


def format_mio_dkk(amount: int) -> str:
    """``1500000`` -> ``1,5 mio. kr.``; ``250000`` -> ``0,25 mio. kr.`` (two decimals at most)."""
    return f"{dansk_tal(round(amount / 1_000_000, 2))} mio. kr."


def end_sentence(text: str) -> str:
    """``text`` closed with a full stop, unless it ends with one already (``… 3.100.000 kr.``)."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def count_text(n: int, singular: str, plural: str) -> str:
    """``1 rettidig``, ``2 rettidige``, ``0 rettidige`` (Danish number agreement)."""
    return f"{n} {singular if n == 1 else plural}"


# --- reading ------------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f\u2007\u2009]+")
_MULTIPLIERS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^(?:mia|mrd|milliard(?:er)?)\.?$"), 1_000_000_000),
    (re.compile(r"^(?:mio|mill|million(?:er)?)\.?$"), 1_000_000),
    (re.compile(r"^(?:t|tkr|tusind|tusinde|k)\.?$"), 1_000),
)
_CURRENCY = re.compile(r"^(?:kr|kroner|dkk|kr\.-|,-|\.-)\.?$")
_PREFIXES = ("ca.", "ca", "cirka", "omkring", "i alt", "samlet")
_SUFFIXES = ("årligt", "om året", "pr. år", "per år", "/år", "i alt")
_NUMBER = re.compile(r"^[+-]?\d[\d.,]*$")
_MAX_TEXT = 80
# wide enough for any number that fits in _MAX_TEXT characters times a milliard: no
# operation below can overflow it, whatever the caller's decimal context is
_CONTEXT = Context(prec=_MAX_TEXT + 20, Emax=_MAX_TEXT + 20, Emin=-_MAX_TEXT - 20)


@dataclass(frozen=True)
class DkkReading:
    """What :func:`read_dkk` found: whole kroner, or why not."""

    kroner: int | None  # None: not one readable, plausible amount
    too_large: bool = False  # read as an amount, but more than MAX_DKK (in absolute value)


def _number(token: str, has_multiplier: bool) -> Decimal | None:
    sign = ""
    if token[0] in "+-":
        sign, token = token[0], token[1:]
    if token.endswith((",", ".")):
        token = token[:-1]
    if not token or not token[0].isdigit() or not token[-1].isdigit():
        return None
    dots, commas = token.count("."), token.count(",")
    if dots and commas:
        decimal_mark = "," if token.rfind(",") > token.rfind(".") else "."
        group_mark = "." if decimal_mark == "," else ","
        intpart, _, frac = token.rpartition(decimal_mark)
        if group_mark in frac or intpart.count(decimal_mark):
            return None
        if not _grouped(intpart, group_mark):
            return None
        plain = intpart.replace(group_mark, "") + "." + frac
    elif dots > 1 or commas > 1:
        mark = "." if dots else ","
        if not _grouped(token, mark):
            return None
        plain = token.replace(mark, "")
    elif dots == 1:
        intpart, _, frac = token.partition(".")
        plain = intpart + frac if len(frac) == 3 else intpart + "." + frac
    elif commas == 1:
        intpart, _, frac = token.partition(",")
        if len(frac) == 3 and not has_multiplier:
            plain = intpart + frac
        else:
            plain = intpart + "." + frac
    else:
        plain = token
    try:
        return Decimal(sign + plain)
    except InvalidOperation:
        return None


def _grouped(token: str, mark: str) -> bool:
    """``1.500.000``: a first group of 1-3 digits, then groups of exactly three."""
    groups = token.split(mark)
    return (
        1 <= len(groups[0]) <= 3
        and all(g.isdigit() for g in groups)
        and all(len(g) == 3 for g in groups[1:])
    )


def _tokens(text: str) -> list[str] | None:
    s = _SPACES.sub(" ", text).strip().lower()
    if not s or len(s) > _MAX_TEXT:
        return None
    for prefix in _PREFIXES:
        if s.startswith(prefix + " "):
            s = s[len(prefix) + 1:].lstrip()
    for suffix in _SUFFIXES:
        if s.endswith(" " + suffix):
            s = s[: -len(suffix) - 1].rstrip()
    # "t.kr." / "t. kr." / "tkr." are one unit: thousands of kroner
    s = re.sub(r"\bt\.?\s?kr\b\.?", " tkr ", s)
    s = re.sub(r"\bkr\.?\s*,-", " kr ", s)
    s = s.replace(",-", " ").replace(".-", " ")
    # digits grouped by spaces: "1 500 000"
    s = re.sub(r"(?<=\d) (?=\d{3}(?!\d))", "", s)
    # split glued units: "1,5mio", "250000kr."
    s = re.sub(r"(?<=\d)(?=[a-zæøå])", " ", s)
    return s.split()


def _value(tokens: list[str]) -> Decimal | None:
    number: str | None = None
    multiplier = 1
    for tok in tokens:
        if tok == "tkr" or tok == "tkr.":
            if multiplier != 1:
                return None
            multiplier = 1_000
            continue
        if _CURRENCY.match(tok):
            continue
        unit = next((m for pattern, m in _MULTIPLIERS if pattern.match(tok)), None)
        if unit is not None:
            if multiplier != 1 or number is None:
                return None
            multiplier = unit
            continue
        if _NUMBER.match(tok):
            if number is not None:
                return None
            number = tok
            continue
        return None
    if number is None:
        return None
    value = _number(number, multiplier != 1)
    return None if value is None else value * multiplier


def read_dkk(text: str) -> DkkReading:
    """Whole kroner in ``text``; ``too_large`` for a readable amount beyond :data:`MAX_DKK`."""
    if not isinstance(text, str):
        return DkkReading(None)
    with localcontext(_CONTEXT):
        tokens = _tokens(text)
        value = _value(tokens) if tokens else None
        if value is None:
            return DkkReading(None)
        if abs(value) > MAX_DKK:
            return DkkReading(None, too_large=True)
        return DkkReading(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def parse_dkk(text: str) -> int | None:
    """Whole kroner in ``text``, or ``None`` when it is not one readable, plausible amount."""
    return read_dkk(text).kroner


