"""Every form carries its identity: year, committee and deliverable as custom document
properties (``docProps/custom.xml``), which Word, LibreOffice and python-docx keep when the
file is edited and saved.

Written when the form is rendered (``DocxTemplate.render(ctx, properties=...)`` in
:mod:`letters.render`, with :meth:`FormIdentity.properties`), read back from a submitted file
by :func:`read_identity`. The properties, all text (``vt:lpwstr``)::

    aarshjul-version     1
    aarshjul-aar         2012
    aarshjul-udvalg      BUU
    aarshjul-aflevering  handleplan
    aarshjul-kontrol     the first 16 hex digits of SHA-256 over the values above

The check value tells a file whose properties were changed by hand (Word shows them under
File > Info > Properties > Advanced > Custom) or made up from one the engine wrote: such a
file reads as :attr:`IdentityStatus.FORGED`. It is no signature (anyone can compute it);
who may hand in for a committee is decided by the sender's address.

A part is written with its relationship in ``_rels/.rels`` and its content type in
``[Content_Types].xml``; a template's own custom properties are kept (ours replace those of
the same name). Per template the package parts are prepared once (:class:`Stamp`); per form
only the small ``custom.xml`` is made, so rendering keeps its speed.

Reading is as careful as the file intake (:func:`letters.intake.check_docx` first: sizes,
bombs, DOCTYPEs), parses without entities, and never raises: a file without the properties is
:attr:`IdentityStatus.NONE`, one with broken or half properties :attr:`IdentityStatus.MALFORMED`.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from letters.intake import Refused, check_docx, safe_parser
from models.kinds import IdentityStatus
from models.wheel import KEY_RE

VERSION = "1"
PREFIX = "aarshjul-"
P_VERSION, P_YEAR, P_COMMITTEE, P_DELIVERABLE, P_CHECK = (
    f"{PREFIX}{n}" for n in ("version", "aar", "udvalg", "aflevering", "kontrol"))

CUSTOM_PART = "docProps/custom.xml"
RELS_PART = "_rels/.rels"
CT_PART = "[Content_Types].xml"
REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
NS_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
NS_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
NS_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
MAX_CUSTOM_BYTES = 1_000_000


@dataclass(frozen=True)
class FormIdentity:
    year: int
    committee: str
    deliverable: str

    def check(self) -> str:
        text = f"{VERSION}|{self.year}|{self.committee}|{self.deliverable}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def properties(self) -> dict[str, str]:
        """The custom properties for ``DocxTemplate.render(ctx, properties=...)``."""
        return {P_VERSION: VERSION, P_YEAR: str(self.year), P_COMMITTEE: self.committee,
                P_DELIVERABLE: self.deliverable, P_CHECK: self.check()}


@dataclass(frozen=True)
class IdentityReading:
    status: IdentityStatus
    identity: FormIdentity | None = None
    reason: str = ""  # for the coordinator, when the status is not FOUND


# --- writing ----------------------------------------------------------------------------------


def _property(pid: int, name: str, value: str) -> str:
    return (f'<property fmtid="{FMTID}" pid="{pid}" name={quoteattr(name)}>'
            f"<vt:lpwstr>{escape(value)}</vt:lpwstr></property>")


@dataclass(frozen=True)
class Stamp:
    """What a template needs to carry custom properties, prepared once per template.

    ``replaced`` are members of the template that are rewritten (the package relationships,
    the content types, an existing custom part), ``added`` the member that is new (the custom
    part, where the template has none); :meth:`contents` gives their bytes in that order.
    """

    replaced: tuple[str, ...]
    added: tuple[str, ...]
    static: tuple[bytes, ...]  # the new bytes of the replaced rels / content types
    head: str  # custom.xml up to our properties: the template's own ones
    names: frozenset[str]  # the template's own property names (kept unless we set them)
    kept: tuple[tuple[str, str], ...]  # (name, XML of the property) of the template's own
    next_pid: int

    @classmethod
    def of(cls, zf: zipfile.ZipFile) -> Stamp:
        from lxml import etree

        names = set(zf.namelist())
        parser = safe_parser()
        rels = etree.fromstring(zf.read(RELS_PART), parser) if RELS_PART in names else \
            etree.fromstring(f'<Relationships xmlns="{NS_RELS}"/>'.encode(), parser)
        target = None
        for rel in rels:
            if rel.get("Type") == REL_TYPE:
                target = (rel.get("Target") or "").lstrip("/")
        part = target or CUSTOM_PART
        static: list[bytes] = []
        replaced: list[str] = []
        if target is None:
            ids = {rel.get("Id") for rel in rels}
            rid = next(f"rIdAarshjul{i}" for i in range(1, 1000) if f"rIdAarshjul{i}" not in ids)
            etree.SubElement(rels, f"{{{NS_RELS}}}Relationship", Id=rid, Type=REL_TYPE,
                             Target=CUSTOM_PART)
            static.append(etree.tostring(rels, xml_declaration=True, encoding="UTF-8",
                                         standalone=True))
            replaced.append(RELS_PART)
        ct = etree.fromstring(zf.read(CT_PART), parser)
        overrides = {(el.get("PartName") or "").lstrip("/") for el in ct
                     if etree.QName(el).localname == "Override"}
        if part not in overrides:
            etree.SubElement(ct, f"{{{NS_CT}}}Override", PartName=f"/{part}",
                             ContentType=CUSTOM_TYPE)
            static.append(etree.tostring(ct, xml_declaration=True, encoding="UTF-8",
                                         standalone=True))
            replaced.append(CT_PART)
        kept: list[tuple[str, str]] = []
        pid = 1
        if part in names:
            root = etree.fromstring(zf.read(part), parser)
            for prop in root:
                name = prop.get("name") or ""
                pid = max(pid, int(prop.get("pid") or 1) if (prop.get("pid") or "").isdigit()
                          else pid)
                kept.append((name, etree.tostring(prop, encoding="unicode")))
        head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<Properties xmlns="{NS_CUSTOM}" xmlns:vt="{NS_VT}">')
        return cls(
            replaced=(*replaced, part) if part in names else tuple(replaced),
            added=() if part in names else (part,),
            static=tuple(static), head=head, names=frozenset(n for n, _ in kept),
            kept=tuple(kept), next_pid=pid + 1,
        )

    def custom_xml(self, properties: Mapping[str, str]) -> bytes:
        out = [self.head]
        out += [xml for name, xml in self.kept if name not in properties]
        for i, (name, value) in enumerate(properties.items()):
            out.append(_property(self.next_pid + i, name, value))
        out.append("</Properties>")
        return "".join(out).encode("utf-8")

    def contents(self, properties: Mapping[str, str]) -> list[bytes]:
        """The bytes of ``replaced`` then ``added``, for these properties."""
        return [*self.static, self.custom_xml(properties)]


# --- reading ----------------------------------------------------------------------------------


def read_properties(data: bytes, filename: str = "formular.docx") -> dict[str, str]:
    """The custom document properties of a .docx (name -> text); raises ``Refused`` for a
    file the intake refuses and ``ValueError`` for a broken custom part."""
    from lxml import etree

    accepted = check_docx(data, filename)
    zf = zipfile.ZipFile(io.BytesIO(accepted.data))
    names = set(zf.namelist())
    part = CUSTOM_PART
    if RELS_PART in names:
        rels = etree.fromstring(zf.read(RELS_PART), safe_parser())
        for rel in rels:
            if rel.get("Type") == REL_TYPE and rel.get("Target"):
                part = (rel.get("Target") or "").lstrip("/")
    if part not in names:
        return {}
    if zf.getinfo(part).file_size > MAX_CUSTOM_BYTES:
        raise ValueError(f"{part} is over {MAX_CUSTOM_BYTES:,} bytes")
    try:
        root = etree.fromstring(zf.read(part), safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"{part} is not well-formed XML: {exc}") from None
    out: dict[str, str] = {}
    for prop in root:
        name = prop.get("name")
        if not name:
            continue
        value = "".join(prop.itertext()).strip()
        if name in out and out[name] != value:
            raise ValueError(f"the property {name} is there twice, with different values")
        out[name] = value
    return out


def read_identity(data: bytes, filename: str = "formular.docx") -> IdentityReading:
    """The form's identity, or why there is none; never raises."""
    try:
        props = read_properties(data, filename)
    except Refused as exc:
        return IdentityReading(IdentityStatus.NONE, reason=f"the file was refused: {exc.reason}")
    except Exception as exc:
        return IdentityReading(IdentityStatus.MALFORMED, reason=f"{exc}")
    ours = {k: v for k, v in props.items() if k.startswith(PREFIX)}
    if not ours:
        return IdentityReading(IdentityStatus.NONE, reason="the file carries no form identity")
    return _identity(ours)


def _identity(props: dict[str, str]) -> IdentityReading:
    def bad(reason: str) -> IdentityReading:
        return IdentityReading(IdentityStatus.MALFORMED, reason=reason)

    missing = [p for p in (P_VERSION, P_YEAR, P_COMMITTEE, P_DELIVERABLE, P_CHECK)
               if not props.get(p)]
    if missing:
        return bad(f"the form identity lacks {', '.join(missing)}")
    if props[P_VERSION] != VERSION:
        return bad(f"unknown form identity version {props[P_VERSION][:20]!r}")
    year_text = props[P_YEAR]
    if not (year_text.isascii() and year_text.isdigit() and len(year_text) == 4):
        return bad(f"{P_YEAR} is not a year: {year_text[:20]!r}")
    committee, deliverable = props[P_COMMITTEE], props[P_DELIVERABLE]
    for name, value in ((P_COMMITTEE, committee), (P_DELIVERABLE, deliverable)):
        if not KEY_RE.match(value):
            return bad(f"{name} is not a key: {value[:40]!r}")
    identity = FormIdentity(int(year_text), committee, deliverable)
    if props[P_CHECK] != identity.check():
        return IdentityReading(
            IdentityStatus.FORGED, identity,
            reason=f"the form identity ({identity.year}, {committee}, {deliverable}) does not "
                   "match its check value: changed by hand or made up",
        )
    return IdentityReading(IdentityStatus.FOUND, identity)
