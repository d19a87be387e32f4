"""How wide a text is in the reports' font, to size table columns (no font file is read).

The templates use Calibri; Carlito is metric-compatible with it (and is what LibreOffice
substitutes). The advance widths below are Carlito's, in font units (2048 per em), for the
characters reports print; any other character counts as wide (:data:`OTHER`). A
non-breaking space is as wide as a space.
"""

from __future__ import annotations

UNITS_PER_EM = 2048
CHARS = "".join(map(chr, range(32, 127))) + "æøåÆØÅéÉèüÜöÖäÄóáíúñç–—«»“”„‘’…·§½€£°×"
REGULAR = (
    463, 667, 821, 1020, 1038, 1464, 1397, 452, 621, 621, 1020, 1020, 511, 627, 517, 791, 1038,
    1038, 1038, 1038, 1038, 1038, 1038, 1038, 1038, 1038, 548, 548, 1020, 1020, 1020, 949, 1831,
    1185, 1114, 1092, 1260, 1000, 941, 1292, 1276, 516, 653, 1064, 861, 1751, 1322, 1356, 1058,
    1378, 1112, 941, 998, 1314, 1162, 1822, 1063, 998, 959, 628, 791, 628, 1020, 1020, 596, 981,
    1076, 866, 1076, 1019, 625, 964, 1076, 470, 490, 931, 470, 1636, 1076, 1080, 1076, 1076,
    714, 801, 686, 1076, 925, 1464, 887, 927, 809, 644, 943, 644, 1020, 1583, 1084, 981, 1563,
    1359, 1185, 1019, 1000, 1019, 1076, 1314, 1080, 1356, 981, 1185, 1080, 981, 470, 1076, 1076,
    866, 1020, 1854, 1049, 1049, 857, 857, 857, 511, 511, 1414, 517, 1020, 1375, 1038, 1038,
    694, 1020
)
BOLD = (
    463, 667, 898, 1020, 1038, 1493, 1443, 478, 638, 638, 1020, 1020, 528, 627, 547, 880, 1038,
    1038, 1038, 1038, 1038, 1038, 1038, 1038, 1038, 1038, 565, 565, 1020, 1020, 1020, 949, 1840,
    1241, 1148, 1084, 1291, 999, 940, 1305, 1292, 546, 678, 1120, 866, 1790, 1349, 1385, 1090,
    1405, 1153, 968, 1014, 1337, 1211, 1856, 1128, 1064, 979, 665, 880, 665, 1020, 1020, 615,
    1011, 1099, 857, 1099, 1031, 648, 971, 1099, 503, 523, 983, 503, 1666, 1099, 1101, 1099,
    1099, 728, 817, 710, 1099, 969, 1526, 941, 970, 814, 704, 973, 704, 1020, 1587, 1114, 1011,
    1588, 1394, 1241, 1031, 999, 1031, 1099, 1337, 1101, 1385, 1011, 1241, 1101, 1011, 503,
    1099, 1099, 857, 1020, 1854, 1103, 1103, 891, 891, 891, 528, 528, 1457, 548, 1020, 1415,
    1038, 1038, 701, 1020
)
OTHER = 1400  # wider than any letter above but W and M: a safe guess for what is not listed
CM_PER_PT = 2.54 / 72

_REGULAR = dict(zip(CHARS, REGULAR, strict=True))
_BOLD = dict(zip(CHARS, BOLD, strict=True))


def text_cm(text: str, size_pt: float, *, bold: bool = False) -> float:
    """The width of ``text`` on one line, in cm, at ``size_pt`` points."""
    table = _BOLD if bold else _REGULAR
    units = sum(table.get(" " if c == "\u00a0" else c, OTHER) for c in text)
    return units / UNITS_PER_EM * size_pt * CM_PER_PT
