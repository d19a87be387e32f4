"""Intake of submitted .docx files: a hostile corpus, each refused under a 256 MB address
space with its own message, and nothing stored; a real form accepted and stored once."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from letters.intake import Accepted, Refused, check_docx, store
from tests import ROOT
from tests.letters import hostile
from tests.letters.test_readback import add_table, save

# Run in a child: the address space is capped *before* the intake module is even imported.
RUNNER = r"""
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))
from letters.intake import Refused, check_docx, store
path, name, directory = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
data = path.read_bytes()
try:
    accepted = check_docx(data, name)
except Refused as exc:
    out = {"refused": exc.message}
else:
    out = {"stored": str(store(accepted, directory))}
del data
out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(out))
"""


def run_intake(tmp_path: Path, data: bytes, name: str) -> tuple[dict[str, object], Path]:
    src = tmp_path / "upload.bin"
    src.write_bytes(data)
    directory = tmp_path / "store"
    directory.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(src), name, str(directory)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), directory


def typical_form() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Revideret handleplan", 1)
    d.add_heading("HM2 – Overledigheden blandt etniske minoriteter", 2)
    d.add_paragraph("Vi styrker jobcentrenes virksomhedsrettede indsats.")
    add_table(d, ["Initiativ", "Hovedmål", "Beløb (kr.)", "Finansieret"],
              ["Mentorordning", "HM2", "1.500.000 kr.", "Ja"])
    return save(d)


@pytest.mark.parametrize("case", sorted(hostile.HOSTILE))
def test_hostile_file_is_refused_under_256mb_and_nothing_is_stored(tmp_path: Path,
                                                                   case: str) -> None:
    maker, name, fragment = hostile.HOSTILE[case]
    out, directory = run_intake(tmp_path, maker(), name)
    assert "refused" in out, out
    assert fragment in str(out["refused"])
    assert str(out["refused"]).startswith(f"{name}: ")
    assert list(directory.rglob("*")) == []


def test_truncated_form_is_refused(tmp_path: Path) -> None:
    out, directory = run_intake(tmp_path, hostile.truncated(typical_form()), "handleplan.docx")
    assert "broken or truncated zip archive" in str(out["refused"])
    assert list(directory.rglob("*")) == []


def test_typical_form_is_accepted_and_stored_under_the_same_limit(tmp_path: Path) -> None:
    data = typical_form()
    out, directory = run_intake(tmp_path, data, "BUU handleplan.docx")
    stored = Path(str(out["stored"]))
    sha = hashlib.sha256(data).hexdigest()
    assert stored == directory / sha[:2] / f"{sha}.docx"
    assert stored.read_bytes() == data
    assert [p for p in directory.rglob("*") if p.is_file()] == [stored]


@pytest.mark.slow
def test_the_bomb_really_is_a_gibibyte_of_zeros() -> None:
    """The corpus must be what it claims: inflate the bomb member in full, outside the cap."""
    import zipfile
    import zlib

    data = hostile.bomb()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("word/media/image1.png")
        assert info.file_size == hostile.GIB
        assert info.compress_size < 1_100_000
    lying = hostile.lying_bomb()
    with zipfile.ZipFile(io.BytesIO(lying)) as z:
        info = z.getinfo("word/media/image1.png")
        assert info.file_size == 10_000  # what the central directory claims
        off = info.header_offset + 30 + len(info.filename)
        d = zlib.decompressobj(-15)
        n, buf = 0, lying[off:off + info.compress_size]
        while buf:
            n += len(d.decompress(buf, 1 << 24))
            buf = d.unconsumed_tail
        assert n == hostile.GIB


def test_accepted_carries_digest_size_name_and_main_part() -> None:
    data = typical_form()
    a = check_docx(data, r"C:\Users\sekr\Skrivebord\BUU handleplan.docx")
    assert a == Accepted(hashlib.sha256(data).hexdigest(), len(data), "BUU handleplan.docx",
                         data, "word/document.xml")


def test_limits_are_parameters() -> None:
    data = typical_form()
    with pytest.raises(Refused, match=r"over the limit of 0\.0 MB"):
        check_docx(data, "f.docx", max_bytes=1_000)
    with pytest.raises(Refused, match="more than 5 members"):
        check_docx(data, "f.docx", max_members=5)
    with pytest.raises(Refused, match="per member"):
        check_docx(data, "f.docx", max_member_bytes=10_000)
    with pytest.raises(Refused, match="in total"):
        check_docx(data, "f.docx", max_total_bytes=50_000)


@pytest.mark.parametrize(("data", "fragment"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old Word 97-2003 file (.doc)"),
    (b"{\\rtf1\\ansi hej}", "an RTF file"),
    (b"hello, world", "not a zip archive"),
    (hostile.raw_zip([hostile.Member("mimetype", b"application/vnd.oasis.opendocument.text",
                                     method=0)]), "OpenDocument"),
    (hostile.raw_zip([hostile.Member("a.txt", b"hej")]), "[Content_Types].xml missing"),
    (hostile.word_zip(main="application/vnd.openxmlformats-officedocument.wordprocessingml."
                           "template.main+xml"), "a Word template (.dotx)"),
    (hostile.word_zip(extra=[hostile.Member("word/x.bin", b"abc", method=12)]),
     "compression Word does not write"),
    (hostile.word_zip(extra=[hostile.Member("word/x.bin", b"abc", declared_size=2)]),
     "more data than its zip header declares"),
    (hostile.word_zip(extra=[hostile.Member("word/x.bin", b"abc", declared_size=9)]),
     "is 3 bytes, its header says 9"),
    (hostile.word_zip(b""), "word/document.xml is empty"),
    (hostile.word_zip(hostile.document("<w:p>&amp;&nbsp;</w:p>")), "not well-formed XML"),
    (hostile.word_zip(extra=[hostile.Member(
        "customXml/item1.xml", b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://x.example/">'
        b"<x/>")]), "customXml/item1.xml declares a DOCTYPE"),
    (hostile.word_zip(extra=[hostile.Member(
        "word/x.dat", '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]>'
        "<x>&a;</x>".encode("utf-16"))]), "word/x.dat declares a DOCTYPE"),
])
def test_each_refusal_has_its_own_message(data: bytes, fragment: str) -> None:
    with pytest.raises(Refused) as info:
        check_docx(data, "f.docx")
    assert fragment in info.value.message
    assert str(info.value) == info.value.message
    assert info.value.filename == "f.docx"
    assert info.value.message == f"f.docx: {info.value.reason}"


def test_a_minimal_hand_made_word_zip_is_accepted() -> None:
    a = check_docx(hostile.word_zip(), "f.docx")
    assert a.main_part == "word/document.xml"


SVG_DOCTYPE = (b'<?xml version="1.0" encoding="utf-8"?>\n<!-- Generator: Adobe Illustrator -->\n'
               b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
               b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
               b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>')


@pytest.mark.parametrize("svg", [
    SVG_DOCTYPE,
    SVG_DOCTYPE.replace(b"</svg>", b""),  # a broken picture is not our concern
    b"<svg xmlns='http://www.w3.org/2000/svg'>" + b"<g/>" * 40_000 + b"</svg>",  # many chunks
])
def test_a_picture_with_a_public_svg_doctype_is_accepted(svg: bytes) -> None:
    data = hostile.word_zip(extra=[hostile.Member("word/media/image1.svg", svg)])
    assert check_docx(data, "f.docx").size == len(data)


@pytest.mark.parametrize("svg", [
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>',
    b'<!DOCTYPE svg [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]><svg>&b;</svg>',
    b'<!DOCTYPE svg [' + b"<!-- padding -->" * 10_000 + b'<!ENTITY a "aa">]><svg>&a;</svg>',
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE svg [<!ENTITY a "b">]><svg>&a;</svg>'
    .encode("utf-16"),
])
def test_a_picture_declaring_entities_is_refused(svg: bytes) -> None:
    data = hostile.word_zip(extra=[hostile.Member("word/media/image1.svg", svg)])
    with pytest.raises(Refused, match=r"word/media/image1\.svg declares a DOCTYPE"):
        check_docx(data, "f.docx")


def test_a_doctype_outside_pictures_is_refused_even_without_entities() -> None:
    data = hostile.word_zip(extra=[hostile.Member("word/theme/theme1.xml", SVG_DOCTYPE)])
    with pytest.raises(Refused, match=r"word/theme/theme1\.xml declares a DOCTYPE"):
        check_docx(data, "f.docx")


def test_store_is_content_addressed_idempotent_and_leaves_no_temporary(tmp_path: Path) -> None:
    a = check_docx(typical_form(), "a.docx")
    first = store(a, tmp_path)
    mtime = first.stat().st_mtime_ns
    second = store(Accepted(a.sha256, a.size, "renamed.docx", a.data), tmp_path)
    assert first == second
    assert first.stat().st_mtime_ns == mtime  # not written again
    assert first.name == f"{a.sha256}.docx"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [first.name]


def test_store_refuses_data_that_does_not_match_its_digest(tmp_path: Path) -> None:
    a = check_docx(typical_form(), "a.docx")
    with pytest.raises(ValueError, match="does not match"):
        store(Accepted(a.sha256, a.size, a.filename, a.data + b"x"), tmp_path)
    with pytest.raises(ValueError, match="not a SHA-256"):
        store(Accepted("../../etc/passwd", a.size, a.filename, a.data), tmp_path)
    assert list(tmp_path.rglob("*.docx")) == []
