"""Intake of a submitted .docx: the file is hostile until checked.

:func:`check_docx` looks at the bytes before anything reads a zip member whole (python-docx
does): size, magic bytes, the zip's own structure, macro markers, what kind of Office file it
is, every member's size (declared *and* real: each member is stream-decompressed once with a
hard cap, counting the bytes that come out and never trusting the headers), overlapping
members, and every XML part's prolog (a DOCTYPE is refused outright, so no entity is ever
declared, let alone resolved). Each refusal raises :class:`Refused` with its own message for
the coordinator, in English with the Danish term where natural. :func:`store` keeps an accepted
file whole, content-addressed by its SHA-256, written atomically.

Memory stays bounded by the file itself plus one 64 KiB chunk: nothing decompressed is kept
except ``[Content_Types].xml`` (at most 1 MB).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from letters.private import FILE_MODE, private_dir

CHUNK = 64 * 1024
CONTENT_TYPES = "[Content_Types].xml"
MAX_CONTENT_TYPES = 1_000_000
RATIO_FLOOR = 1_000_000  # the compression-ratio limit applies to members larger than this

CT_DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
CT_TEMPLATE = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
CT_MACRO = "application/vnd.ms-word.document.macroenabled.main+xml"
CT_MACRO_TEMPLATE = "application/vnd.ms-word.template.macroenabledtemplate.main+xml"
MACRO_SUFFIXES = (".docm", ".dotm", ".xlsm", ".pptm")

# (magic bytes, what it is) for files that are not zip archives
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "this is a PDF, not a Word file: send the .docx itself"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "this is an old Word 97-2003 file (.doc) or a password-protected document, not a "
        ".docx: save it as .docx (Word document) without a password",
    ),
    (b"{\\rtf", "this is an RTF file, not a Word .docx: save it as .docx (Word document)"),
    (b"\x89PNG", "this is a PNG image, not a Word file"),
    (b"\xff\xd8\xff", "this is a JPEG image, not a Word file"),
    (b"GIF8", "this is a GIF image, not a Word file"),
)


class Refused(ValueError):
    """A submitted file that is not taken in; ``message`` says why, for the coordinator.

    ``message`` begins with the file name (``handleplan.docx: this is a PDF, ...``);
    ``reason`` is the same without it, and ``filename`` the name, for callers that print
    the name themselves.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.filename: str | None = None
        self.reason = message

    def _named(self, filename: str) -> Refused:
        self.filename = filename
        prefix = f"{filename}: "
        self.reason = self.message.removeprefix(prefix)
        return self


@dataclass(frozen=True)
class Accepted:
    sha256: str
    size: int
    filename: str
    data: bytes = field(repr=False)
    main_part: str = "word/document.xml"  # the main document part, from [Content_Types].xml


def safe_parser() -> Any:
    """An lxml parser that resolves no entities, loads no DTD and never uses the network."""
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )


def _mb(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB"


def check_docx(
    data: bytes,
    filename: str,
    *,
    max_bytes: int = 20_000_000,
    max_member_bytes: int = 50_000_000,
    max_total_bytes: int = 200_000_000,
    max_members: int = 2_000,
    max_ratio: int = 200,
) -> Accepted:
    """Check a submitted Word file; return it as :class:`Accepted` or raise :class:`Refused`.

    Nothing here writes anything: a refused file leaves no trace.
    """
    name = PurePosixPath(filename.replace("\\", "/")).name or "dokument.docx"
    try:
        return _check(data, name, max_bytes, max_member_bytes, max_total_bytes, max_members,
                      max_ratio)
    except Refused as exc:
        raise exc._named(name) from None


def _check(data: bytes, name: str, max_bytes: int, max_member_bytes: int,
           max_total_bytes: int, max_members: int, max_ratio: int) -> Accepted:
    if name.lower().endswith(MACRO_SUFFIXES):
        raise Refused(
            f"{name}: macro-enabled files (.docm) are not accepted: save it as .docx "
            "(Word document) without macros"
        )
    if not data:
        raise Refused(f"{name}: the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise Refused(
            f"{name}: the file is {_mb(len(data))}, over the limit of {_mb(max_bytes)}: "
            "remove large pictures or send them separately"
        )
    if not data.startswith(b"PK\x03\x04"):
        head = data[:16].lstrip()
        for magic, what in _MAGIC:
            if head.startswith(magic):
                raise Refused(f"{name}: {what}")
        if data.startswith((b"PK\x05\x06", b"PK\x07\x08")):
            raise Refused(f"{name}: an empty or split zip archive, not a Word document")
        raise Refused(f"{name}: not a Word document (.docx): the file is not a zip archive")

    # Bound the member count before zipfile builds one object per central-directory entry:
    # every entry it can parse starts with this signature, so the count is an upper bound.
    if data.count(b"PK\x01\x02") > max_members:
        raise Refused(
            f"{name}: the zip archive has more than {max_members:,} members; "
            "a Word document has a few dozen"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError,
            struct.error, NotImplementedError, UnicodeDecodeError) as exc:
        raise Refused(
            f"{name}: the file is damaged (a broken or truncated zip archive: {exc}); "
            "open it in Word and save it again"
        ) from None
    if len(infos) > max_members:
        raise Refused(f"{name}: the zip archive has {len(infos):,} members, over {max_members:,}")

    names = [i.filename for i in infos]
    lowered = [n.lower() for n in names]
    if any(n.endswith(("vbaproject.bin", "vbadata.xml")) for n in lowered):
        raise Refused(
            f"{name}: the document contains macros (vbaProject.bin): save it as .docx "
            "(Word document) without macros"
        )
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise Refused(f"{name}: the zip archive names a member twice ({dupes[0]}): damaged")
    if "mimetype" in names and CONTENT_TYPES not in names:
        raise Refused(
            f"{name}: this is an OpenDocument file (LibreOffice .odt), not a Word .docx: "
            "save it in Word format (.docx)"
        )
    if CONTENT_TYPES not in names:
        raise Refused(
            f"{name}: a zip archive, but not a Word document ([Content_Types].xml missing)"
        )

    # Declared sizes first: a bomb that tells the truth is refused without inflating a byte.
    declared_total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise Refused(
                f"{name}: the document is password-protected (encrypted): "
                "send it without a password"
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused(
                f"{name}: member {info.filename} uses a compression Word does not write "
                f"(method {info.compress_type}); open it in Word and save it again"
            )
        if info.file_size > max_member_bytes:
            raise Refused(
                f"{name}: member {info.filename} unpacks to {_mb(info.file_size)}, over the "
                f"limit of {_mb(max_member_bytes)} per member (a zip bomb?)"
            )
        declared_total += info.file_size
        if declared_total > max_total_bytes:
            raise Refused(
                f"{name}: the members unpack to more than {_mb(max_total_bytes)} in total "
                "(a zip bomb?)"
            )
        if info.file_size > RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
            raise Refused(
                f"{name}: member {info.filename} is compressed "
                f"{info.file_size // max(info.compress_size, 1):,} to 1, over {max_ratio} to 1 "
                "(a zip bomb?)"
            )
    _check_extents(name, data, infos)

    # [Content_Types].xml: what kind of Office file this is, and its main part.
    ct_info = archive.getinfo(CONTENT_TYPES)
    ct_limit = min(MAX_CONTENT_TYPES, max_member_bytes)
    ct_bytes = b"".join(_inflate(name, data, ct_info, ct_limit, max_ratio))
    main_part = _main_part(name, ct_bytes, names)

    # Every member once, streamed, with real bytes counted; XML prologs checked on the way.
    total = 0
    for info in infos:
        limit = min(max_member_bytes, max_total_bytes - total)
        xml = _XmlCheck(name, info.filename, full=info.filename == main_part)
        size = 0
        for chunk in _inflate(name, data, info, limit, max_ratio):
            size += len(chunk)
            xml.feed(chunk)
        xml.close()
        total += size
    return Accepted(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        filename=name,
        data=data,
        main_part=main_part,
    )


def _check_extents(name: str, data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    """Local headers lie where the directory says, inside the file, without overlapping."""
    extents = []
    for info in infos:
        off = info.header_offset
        if off < 0 or off + 30 > len(data) or data[off:off + 4] != b"PK\x03\x04":
            raise Refused(
                f"{name}: the file is damaged (member {info.filename} is not where the zip "
                "directory says); open it in Word and save it again"
            )
        n, m = struct.unpack("<HH", data[off + 26:off + 30])
        start = off + 30 + n + m
        end = start + info.compress_size
        if end > len(data):
            raise Refused(
                f"{name}: the file is damaged or truncated (member {info.filename} runs past "
                "the end of the file); open it in Word and save it again"
            )
        extents.append((off, end, info.filename))
    extents.sort()
    for (_, end, a), (start, _, b) in itertools.pairwise(extents):
        if start < end:
            raise Refused(f"{name}: members {a} and {b} overlap in the zip archive (a zip bomb?)")


def _inflate(
    name: str, data: bytes, info: zipfile.ZipInfo, limit: int, max_ratio: int
) -> Iterator[bytes]:
    """The member's real bytes in chunks, refusing as soon as they pass ``limit``, the size its
    header declares, or the compression ratio; then the length and CRC must match."""
    off = info.header_offset
    n, m = struct.unpack("<HH", data[off + 26:off + 30])
    start = off + 30 + n + m
    src = memoryview(data)[start:start + info.compress_size]
    member = info.filename
    real = 0
    crc = 0

    def count(out: bytes, consumed: int) -> None:
        nonlocal real, crc
        real += len(out)
        if real > info.file_size:
            raise Refused(
                f"{name}: member {member} holds more data than its zip header declares "
                f"({info.file_size:,} bytes): the sizes are forged (a zip bomb?)"
            )
        if real > limit:
            raise Refused(
                f"{name}: member {member} unpacks to more than {_mb(limit)}, over the limit "
                "(a zip bomb?)"
            )
        if real > RATIO_FLOOR and real > max_ratio * max(consumed, 1):
            raise Refused(
                f"{name}: member {member} is compressed more than {max_ratio} to 1 (a zip bomb?)"
            )
        crc = zlib.crc32(out, crc)

    if info.compress_type == zipfile.ZIP_STORED:
        for pos in range(0, len(src), CHUNK):
            out = bytes(src[pos:pos + CHUNK])
            count(out, pos + len(out))
            yield out
    else:
        d = zlib.decompressobj(-15)
        pos = 0
        try:
            while not d.eof:
                if d.unconsumed_tail:
                    inp: bytes | memoryview = d.unconsumed_tail
                elif pos < len(src):
                    inp = src[pos:pos + CHUNK]
                    pos += len(inp)
                else:
                    raise Refused(
                        f"{name}: the file is damaged (member {member} ends early); "
                        "open it in Word and save it again"
                    )
                out = d.decompress(inp, CHUNK)
                count(out, pos - len(d.unconsumed_tail))
                if out:
                    yield out
        except zlib.error as exc:
            raise Refused(
                f"{name}: the file is damaged (member {member} does not unpack: {exc}); "
                "open it in Word and save it again"
            ) from None
    if real != info.file_size:
        raise Refused(
            f"{name}: the file is damaged (member {member} is {real:,} bytes, its header says "
            f"{info.file_size:,})"
        )
    if crc != info.CRC:
        raise Refused(f"{name}: the file is damaged (member {member} fails its checksum)")


class _Prolog:
    """lxml parser target: notes a DOCTYPE and the root element, builds nothing."""

    def __init__(self) -> None:
        self.doctype_seen = False
        self.root = False

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        self.doctype_seen = True

    def start(self, tag: str, attrib: object, nsmap: object = None) -> None:
        self.root = True

    def close(self) -> None:
        return None


class _XmlCheck:
    """Feeds a member's chunks to an XML parser with entity resolution and network off.

    A DOCTYPE anywhere before the root element is refused (XXE, billion laughs). XML parts
    are checked up to their root element; the main document part (``full``) to its end,
    so a damaged document.xml is refused here rather than read half.

    Pictures (``word/media/*.svg``) are not parts Word or we parse as the document, and SVG
    from drawing programs often carries a harmless ``<!DOCTYPE svg PUBLIC ...>``: there a
    DOCTYPE is refused only when its prolog declares an entity, and a syntax error is not a
    refusal.
    """

    XML_SUFFIXES = (".xml", ".rels", ".vml")
    MAX_MEDIA_PROLOG = 1_000_000

    def __init__(self, name: str, member: str, *, full: bool) -> None:
        self.name = name
        self.member = member
        self.full = full
        self.parser: object | None = None
        self.target = _Prolog()
        self.decided = False  # whether this member is XML is decided on its first bytes
        self.done = False
        self.media = member.lower().startswith("word/media/") and not full
        self.prolog = bytearray()  # a picture's bytes up to its root element

    def feed(self, chunk: bytes) -> None:
        if self.done or not chunk:
            return
        if not self.decided:
            self.decided = True
            head = chunk[:8].lstrip(b" \t\r\n\xef\xbb\xbf")
            looks_xml = head.startswith(b"<") or chunk.startswith((b"\xff\xfe", b"\xfe\xff"))
            if not (self.member.lower().endswith(self.XML_SUFFIXES) or looks_xml):
                self.done = True
                return
            from lxml import etree

            self.parser = etree.XMLParser(
                target=self.target,
                resolve_entities=False,
                no_network=True,
                huge_tree=False,
                load_dtd=False,
            )
        from lxml import etree

        if self.media:
            self.prolog += chunk
            if len(self.prolog) > self.MAX_MEDIA_PROLOG:
                raise Refused(f"{self.name}: {self.member} has an XML prolog over 1 MB")
        try:
            self.parser.feed(chunk)  # type: ignore[union-attr]
        except etree.XMLSyntaxError as exc:
            if self.media:
                self._refuse_doctype(final=True)
                self.done = True
                return
            raise self._not_well_formed(exc) from None
        self._refuse_doctype()
        if self.target.root and not self.full:
            self.done = True

    def _not_well_formed(self, exc: Exception) -> Refused:
        """The refusal of a member the parser gave up on (a DOCTYPE seen first is refused
        as such)."""
        self._refuse_doctype()
        return Refused(
            f"{self.name}: the file is damaged ({self.member} is not well-formed XML: "
            f"{exc}); open it in Word and save it again"
        )

    def _refuse_doctype(self, final: bool = False) -> None:
        if self.media and self.target.doctype_seen:
            if not (final or self.target.root):
                return  # decide once the prolog is complete
            if not self._declares_entity():
                return
        if self.target.doctype_seen:
            raise Refused(
                f"{self.name}: {self.member} declares a DOCTYPE (entities could read files or "
                "expand without end); Word never writes one, so the file is refused"
            )

    def _declares_entity(self) -> bool:
        raw = bytes(self.prolog)
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16", errors="replace")
        else:
            text = raw.decode("utf-8", errors="replace")
        return "<!ENTITY" in text

    def close(self) -> None:
        if self.parser is None or self.done or self.media:
            if self.media and self.parser is not None and not self.done:
                self._refuse_doctype(final=True)
            if self.full and not self.decided:
                raise Refused(f"{self.name}: the file is damaged ({self.member} is empty)")
            return
        from lxml import etree

        try:
            self.parser.close()  # type: ignore[attr-defined]
        except etree.XMLSyntaxError as exc:
            raise self._not_well_formed(exc) from None
        self._refuse_doctype()
        if not self.target.root:
            raise Refused(f"{self.name}: the file is damaged ({self.member} has no content)")


def _main_part(name: str, ct_bytes: bytes, names: list[str]) -> str:
    """The main document part named in [Content_Types].xml; refuse what is not a Word document."""
    from lxml import etree

    check = _XmlCheck(name, CONTENT_TYPES, full=True)
    check.feed(ct_bytes)
    check.close()
    root = etree.fromstring(ct_bytes, safe_parser())
    overrides: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for el in root:
        tag = etree.QName(el).localname
        ctype = (el.get("ContentType") or "").strip().lower()
        if tag == "Override" and el.get("PartName"):
            overrides[el.get("PartName", "").lstrip("/")] = ctype
        elif tag == "Default" and el.get("Extension"):
            defaults[el.get("Extension", "").lower()] = ctype
    types = set(overrides.values()) | set(defaults.values())
    if CT_MACRO in types or CT_MACRO_TEMPLATE in types or any("macroenabled" in t for t in types):
        raise Refused(
            f"{name}: the document is macro-enabled (.docm): save it as .docx "
            "(Word document) without macros"
        )
    mains = [p for p, t in overrides.items() if t == CT_DOCUMENT]
    if not mains:
        if CT_TEMPLATE in types:
            raise Refused(
                f"{name}: this is a Word template (.dotx), not a document: save it as .docx"
            )
        if any("spreadsheetml" in t for t in types):
            raise Refused(f"{name}: this is an Excel workbook, not a Word document")
        if any("presentationml" in t for t in types):
            raise Refused(f"{name}: this is a PowerPoint presentation, not a Word document")
        raise Refused(f"{name}: not a Word document (no main document part in [Content_Types].xml)")
    main = mains[0]
    if main not in names:
        raise Refused(f"{name}: the file is damaged (its main part {main} is missing)")
    return main


def store(accepted: Accepted, directory: Path) -> Path:
    """Keep the accepted file whole under ``directory/<sha256[:2]>/<sha256>.docx``.

    Atomic (a temporary file in the same directory, fsynced, then renamed) and idempotent:
    storing the same bytes twice returns the same path and writes once.
    """
    sha = accepted.sha256
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ValueError(f"not a SHA-256 hex digest: {sha!r}")
    target = Path(directory) / sha[:2] / f"{sha}.docx"
    if target.exists() and target.stat().st_size == accepted.size:
        return target
    if hashlib.sha256(accepted.data).hexdigest() != sha:
        raise ValueError("the data does not match its SHA-256")
    private_dir(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{sha[:12]}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(accepted.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return target
