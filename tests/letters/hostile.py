"""A hostile corpus of would-be Word files, made in memory (tests and benchmarks share it)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

CT_DOC = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
CT_MACRO = "application/vnd.ms-word.document.macroEnabled.main+xml"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def content_types(main: str = CT_DOC, extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="png" ContentType="image/png"/>'
        f'<Override PartName="/word/document.xml" ContentType="{main}"/>{extra}</Types>'
    ).encode()


def document(body: str = "<w:p><w:r><w:t>Hej</w:t></w:r></w:p>", prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}'
        f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    ).encode()


class Member:
    """A zip member given by its raw (already compressed) bytes and the sizes to declare."""

    def __init__(self, name: str, payload: bytes, *, method: int = 8, raw: bytes | None = None,
                 crc: int | None = None, size: int | None = None,
                 declared_size: int | None = None) -> None:
        self.name = name.encode()
        self.method = method
        if raw is None:
            if method == 8:
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                raw = c.compress(payload) + c.flush()
            else:
                raw = payload
        self.raw = raw
        self.crc = zlib.crc32(payload) if crc is None else crc
        self.size = len(payload) if size is None else size
        self.declared = self.size if declared_size is None else declared_size


def raw_zip(members: list[Member]) -> bytes:
    """A zip written by hand, so that sizes can lie and members can be huge yet cheap."""
    out = io.BytesIO()
    central = []
    for m in members:
        offset = out.tell()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, m.method, 0, 0x21,
                              m.crc, len(m.raw), m.declared, len(m.name), 0))
        out.write(m.name)
        out.write(m.raw)
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, m.method,
                                   0, 0x21, m.crc, len(m.raw), m.declared, len(m.name),
                                   0, 0, 0, 0, 0, offset) + m.name)
    cd_start = out.tell()
    for c in central:
        out.write(c)
    cd_size = out.tell() - cd_start
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members),
                          cd_size, cd_start, 0))
    return out.getvalue()


def word_zip(doc: bytes | None = None, *, main: str = CT_DOC, extra: list[Member] | None = None,
             ct_extra: str = "") -> bytes:
    members = [
        Member("[Content_Types].xml", content_types(main, ct_extra)),
        Member("_rels/.rels", RELS),
        Member("word/document.xml", document() if doc is None else doc),
    ]
    return raw_zip(members + (extra or []))


def zeros_deflated(size: int) -> tuple[bytes, int]:
    """Raw deflate of ``size`` zero bytes (a multiple of 1 MiB) and its CRC, built fast:
    after a full flush the compressed form of each further MiB is the same bytes."""
    mib = 1 << 20
    assert size % mib == 0
    chunk = bytes(mib)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush()
    crc = 0
    for _ in range(size // mib):
        crc = zlib.crc32(chunk, crc)
    return first + again * (size // mib - 1) + end, crc


GIB = 1 << 30


def bomb() -> bytes:
    """A Word-looking file with a member of 1 GiB of zeros (about 1 MB deflated)."""
    raw, crc = zeros_deflated(GIB)
    return word_zip(extra=[Member("word/media/image1.png", b"", raw=raw, crc=crc, size=GIB)])


def lying_bomb() -> bytes:
    """The same 1 GiB of zeros, its local header and central directory claiming 10 kB."""
    raw, crc = zeros_deflated(GIB)
    return word_zip(extra=[Member("word/media/image1.png", b"", raw=raw, crc=crc, size=GIB,
                                  declared_size=10_000)])


def lying_bomb_40mb() -> bytes:
    """1 GiB of zeros declared as 40 MB: under the member limit, so only the real bytes tell."""
    raw, crc = zeros_deflated(GIB)
    return word_zip(extra=[Member("word/media/image1.png", b"", raw=raw, crc=crc, size=GIB,
                                  declared_size=40_000_000)])


def xxe() -> bytes:
    return word_zip(document(
        "<w:p><w:r><w:t>&xxe;</w:t></w:r></w:p>",
        prolog='<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    ))


def billion_laughs() -> bytes:
    ents = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return word_zip(document("<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>",
                             prolog=f"<!DOCTYPE w:document [{ents}]>"))


def vba_project() -> bytes:
    return word_zip(extra=[Member("word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(512))])


def macro_content_type() -> bytes:
    return word_zip(main=CT_MACRO)


def truncated(good: bytes) -> bytes:
    return good[: len(good) * 2 // 3]


def pdf() -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2000)


def fifty_mb() -> bytes:
    return b"PK\x03\x04" + bytes(50_000_000 - 4)


def excel() -> bytes:
    return raw_zip([
        Member("[Content_Types].xml", content_types(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")),
        Member("xl/workbook.xml", b"<workbook/>"),
    ])


def too_many_members() -> bytes:
    return word_zip(extra=[Member(f"word/x{i}.bin", b"x") for i in range(2_100)])


def overlapping() -> bytes:
    """Two central-directory entries pointing at the same local data (a 'better zip bomb')."""
    data = word_zip()
    # Duplicate the document.xml central entry under another name, same offset.
    eocd = data.rfind(b"PK\x05\x06")
    _, _, _, n, _, cd_size, cd_start, _ = struct.unpack("<4sHHHHIIH", data[eocd:eocd + 22])
    cd = data[cd_start:cd_start + cd_size]
    i = cd.find(b"word/document.xml") - 46
    entry = cd[i:i + 46 + len(b"word/document.xml")]
    clone = entry[:46] + b"word/documenX.xml"
    cd2 = cd + clone
    return data[:cd_start] + cd2 + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n + 1, n + 1,
                                               len(cd2), cd_start, 0)


def bad_crc() -> bytes:
    return word_zip(extra=[Member("word/media/a.bin", b"hello", crc=12345)])


def damaged_document_xml() -> bytes:
    return word_zip(b'<?xml version="1.0"?><w:document xmlns:w="' + W.encode() + b'"><w:body>')


HOSTILE: dict[str, tuple[Callable[[], bytes], str, str]] = {
    # case: (maker, file name, a fragment of the refusal message)
    "zip bomb (1 GiB of zeros)": (bomb, "bombe.docx", "unpacks to 1,073.7 MB"),
    "zip bomb lying about its size": (lying_bomb, "bombe2.docx",
                                      "more data than its zip header declares"),
    "zip bomb declared 40 MB": (lying_bomb_40mb, "bombe3.docx", "compressed more than 200 to 1"),
    "XXE (external entity /etc/passwd)": (xxe, "xxe.docx", "declares a DOCTYPE"),
    "billion laughs": (billion_laughs, "lol.docx", "declares a DOCTYPE"),
    ".docm by name": (lambda: word_zip(), "handleplan.docm", "macro-enabled files (.docm)"),
    "vbaProject.bin inside": (vba_project, "handleplan.docx", "contains macros (vbaProject.bin)"),
    "macro-enabled content type": (macro_content_type, "handleplan.docx", "macro-enabled (.docm)"),
    "PDF renamed .docx": (pdf, "handleplan.docx", "this is a PDF, not a Word file"),
    "50 MB file": (fifty_mb, "stor.docx", "over the limit of 20.0 MB"),
    "empty file": (lambda: b"", "tom.docx", "the file is empty"),
    "Excel workbook": (excel, "regneark.docx", "an Excel workbook"),
    "too many members": (too_many_members, "mange.docx", "more than 2,000 members"),
    "overlapping members": (overlapping, "overlap.docx", "overlap in the zip archive"),
    "bad checksum": (bad_crc, "crc.docx", "fails its checksum"),
    "damaged document.xml": (damaged_document_xml, "xml.docx", "not well-formed XML"),
}
