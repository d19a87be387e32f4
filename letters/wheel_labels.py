"""Where the labels of the årshjul go, and how their leader lines run (pure geometry).

Labels stand in two columns outside the disc, one per side, stacked so that they never
overlap (:func:`_stack`); each is joined to its marker by a leader line that never crosses
another (:func:`route_leaders`). Units are inches, the centre of the disc is the origin,
angles are degrees counter-clockwise from 3 o'clock. No matplotlib here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

R_OUT = 2.85  # the outer edge of the disc (the month ring)
LABEL_X = R_OUT + 0.42  # where the label columns start (either side)
ELBOW_R = R_OUT + 0.16  # where a leader line leaves the disc
TEXT = "#222222"

# text sizes in points: legible on A4 paper and on a 1280 px wide screen (where 1 pt of
# the page is about 1.5 px, so the smallest text, 7.5 pt, is about 11 px high)
HEAD_PT = 9.0
BODY_PT = 8.5
DETAIL_PT = 7.5


def _xy(r: float, deg: float) -> tuple[float, float]:
    t = math.radians(deg)
    return r * math.cos(t), r * math.sin(t)


@dataclass
class _Label:
    number: int
    angle: float
    anchor: tuple[float, float]  # marker position
    head: str  # bold first line
    body: list[str]  # title lines
    detail: list[str] = field(default_factory=list)  # small grey lines
    colour: str = TEXT
    gid: str = ""
    y: float = 0.0
    scale: float = 1.0  # < 1 when a side is crowded: smaller text, tighter lines
    leader: list[tuple[float, float]] = field(default_factory=list)  # see route_leaders

    @property
    def side(self) -> int:
        return 1 if math.cos(math.radians(self.angle)) >= -1e-9 else -1

    @property
    def height(self) -> float:
        return (LINE + BODY_LINE * len(self.body) + DETAIL_LINE * len(self.detail)) * self.scale


LINE = HEAD_PT * 1.2 / 72 + 0.01  # inches per head line at full size
BODY_LINE = BODY_PT * 1.2 / 72  # inches per title line (line spacing 1.2)
DETAIL_LINE = DETAIL_PT * 1.2 / 72  # inches per detail line
MIN_SCALE = 0.7  # a crowded side shrinks its labels to no less than 70 %


def _elbow(angle: float) -> tuple[float, float]:
    return _xy(ELBOW_R, angle)


def _stack(labels: list[_Label], top: float, bottom: float, gap: float = 0.07) -> None:
    """Place the labels of one side without overlaps, in the order in which their leader
    lines leave the disc (top to bottom), so that no two leader lines cross.

    Each label's first line is put level with its elbow where there is room; when the
    labels don't fit between ``top`` and ``bottom`` at full size, the side is scaled down
    (text and spacing) until they do, to at most :data:`MIN_SCALE`.
    """
    if not labels:
        return
    labels.sort(key=lambda lab: (-_elbow(lab.angle)[1], lab.number))
    need = sum(lab.height for lab in labels) + gap * (len(labels) - 1)
    scale = max(MIN_SCALE, min(1.0, (top - bottom) / need))
    for lab in labels:
        lab.scale = scale
        lab.y = _elbow(lab.angle)[1] + LINE * scale / 2
    gap *= scale
    prev_bottom = top  # top down: push below the previous
    for lab in labels:
        lab.y = min(lab.y, prev_bottom)
        prev_bottom = lab.y - lab.height - gap
    floor = bottom  # bottom up: pull back inside the page
    for lab in reversed(labels):
        if lab.y - lab.height < floor:
            lab.y = floor + lab.height
        floor = lab.y + gap


LEVEL_STEP = 0.04  # inches between the arcs of leader lines that pass one another


def route_leaders(labels: list[_Label]) -> None:
    """Give each placed label its leader line (:attr:`_Label.leader`).

    A leader runs from the marker out along the marker's own radius, so leaders of
    different markers cannot cross inside the disc. Where the label sits level with that
    point, it then goes straight to the label. Where the label was pushed up or down, it
    follows the outside of the disc (an arc) to the label's height and then goes straight
    across. Where two leaders would still cross, the one whose way round is in the other's
    way is moved one :data:`LEVEL_STEP` further out, until none cross.
    """
    level = [0] * len(labels)
    for _ in range(4 * len(labels) + 1):
        paths = [_leader(lab, ELBOW_R + LEVEL_STEP * lv) for lab, lv in zip(labels, level,
                                                                              strict=True)]
        clash = _first_clash(paths)
        if clash is None:
            break
        i, j = clash
        if polylines_cross(paths[j][:2], paths[i][1:]):
            outer, inner = i, j  # j's radius runs into i's way round: i goes further out
        elif polylines_cross(paths[i][:2], paths[j][1:]):
            outer, inner = j, i
        else:
            outer, inner = (i, j) if _moved(labels[i]) >= _moved(labels[j]) else (j, i)
        level[outer] = max(level[outer], level[inner] + 1)
    for lab, path in zip(labels, paths, strict=True):
        lab.leader = path


def _branch(side: int, deg: float) -> float:
    """``deg`` in radians on the branch of its side: -90..90 (right), 90..270 (left)."""
    return math.radians((deg + 90) % 360 - 90 if side > 0 else deg % 360)


def _leader(lab: _Label, r: float) -> list[tuple[float, float]]:
    side = lab.side
    y = lab.y - LINE * lab.scale / 2  # the middle of the label's first line
    a0 = _branch(side, lab.angle)
    pts = [lab.anchor, (r * math.cos(a0), r * math.sin(a0))]
    if abs(y - r * math.sin(a0)) > 1e-3:
        # along the outside of the disc to the label's height (or to the top or the
        # bottom of the circle, for a label above or below it)
        a1 = math.asin(max(-1.0, min(1.0, y / r)))
        if side < 0:
            a1 = math.pi - a1
        steps = max(2, int(abs(a1 - a0) / math.radians(2)) + 1)
        pts += [(r * math.cos(a0 + (a1 - a0) * k / steps),
                 r * math.sin(a0 + (a1 - a0) * k / steps)) for k in range(1, steps + 1)]
    lx = side * LABEL_X
    knee = lx - side * 0.2
    if side * (knee - pts[-1][0]) < 0.05:
        knee = pts[-1][0] + side * 0.05
    return [*pts, (knee, y), (lx - side * 0.05, y)]


def _moved(lab: _Label) -> float:
    """How far a label was moved from its marker's height."""
    return abs(lab.y - ELBOW_R * math.sin(math.radians(lab.angle)))


def _first_clash(paths: list[list[tuple[float, float]]]) -> tuple[int, int] | None:
    boxes = [(min(x for x, _ in p), min(y for _, y in p), max(x for x, _ in p),
              max(y for _, y in p)) for p in paths]
    for i in range(len(paths)):
        for j in range(i + 1, len(paths)):
            bi, bj = boxes[i], boxes[j]
            if bi[2] < bj[0] or bj[2] < bi[0] or bi[3] < bj[1] or bj[3] < bi[1]:
                continue
            if polylines_cross(paths[i], paths[j]):
                return i, j
    return None


def segments_cross(p1: tuple[float, float], p2: tuple[float, float],
                   q1: tuple[float, float], q2: tuple[float, float]) -> bool:
    """Whether segment p1-p2 and segment q1-q2 meet (cross, touch or overlap)."""
    def orient(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> int:
        v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return 0 if abs(v) < 1e-12 else (1 if v > 0 else -1)

    def within(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> bool:
        return (min(a[0], b[0]) - 1e-12 <= c[0] <= max(a[0], b[0]) + 1e-12
                and min(a[1], b[1]) - 1e-12 <= c[1] <= max(a[1], b[1]) + 1e-12)

    o1, o2 = orient(p1, p2, q1), orient(p1, p2, q2)
    o3, o4 = orient(q1, q2, p1), orient(q1, q2, p2)
    if o1 != o2 and o3 != o4:
        return True
    return ((o1 == 0 and within(p1, p2, q1)) or (o2 == 0 and within(p1, p2, q2))
            or (o3 == 0 and within(q1, q2, p1)) or (o4 == 0 and within(q1, q2, p2)))


def polylines_cross(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    """Whether two polylines meet anywhere."""
    return any(segments_cross(p, q, r, s)
               for p, q in pairwise(a) for r, s in pairwise(b))
