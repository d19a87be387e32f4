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
only the small ``custom.xml`` is made and compressed, so rendering keeps its speed.

Reading is as careful as the file intake (:func:`letters.intake.check_docx` first: sizes,
bombs, DOCTYPEs), parses without entities, and never raises: a file without the properties is
:attr:`IdentityStatus.NONE`, one with broken or half properties :attr:`IdentityStatus.MALFORMED`.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from letters.intake import Accepted, Refused, check_docx, safe_parser
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


_MARKUP = re.compile(r"[&<>\"']")


def _property(pid: int, name: str, value: str) -> str:
    if _MARKUP.search(name) or _MARKUP.search(value):
        name_attr, text = quoteattr(name), escape(value)
    else:  # the common case (keys and digits), written without escaping work
        name_attr, text = f'"{name}"', value
    return (f'<property fmtid="{FMTID}" pid="{pid}" name={name_attr}>'
            f"<vt:lpwstr>{text}</vt:lpwstr></property>")


@dataclass(frozen=True)
class Stamp:
    """What a template needs to carry custom properties, prepared once per template.

    ``package`` is the template with the custom part's relationship and content type added
    (written once, so the renderer copies these members' compressed bytes as it does the
    others); ``part`` is the custom part, which the renderer writes per form from
    :meth:`custom_xml`: it replaces the template's own (``exists``) or is added.
    """

    package: bytes
    part: str
    exists: bool
    kept: tuple[tuple[str, str], ...]  # (name, XML) of the template's own properties
    next_pid: int

    @classmethod
    def of(cls, raw: bytes) -> Stamp:
        from lxml import etree

        zf = zipfile.ZipFile(io.BytesIO(raw))
        names = set(zf.namelist())
        parser = safe_parser()
        rels = etree.fromstring(zf.read(RELS_PART), parser) if RELS_PART in names else \
            etree.fromstring(f'<Relationships xmlns="{NS_RELS}"/>'.encode(), parser)
        target = None
        for rel in rels:
            if rel.get("Type") == REL_TYPE:
                target = (rel.get("Target") or "").lstrip("/")
        part = target or CUSTOM_PART
        patched: dict[str, bytes] = {}
        if target is None:
            ids = {rel.get("Id") for rel in rels}
            rid = next(f"rIdAarshjul{i}" for i in range(1, 1000) if f"rIdAarshjul{i}" not in ids)
            etree.SubElement(rels, f"{{{NS_RELS}}}Relationship", Id=rid, Type=REL_TYPE,
                             Target=CUSTOM_PART)
            patched[RELS_PART] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8",
                                                standalone=True)
        ct = etree.fromstring(zf.read(CT_PART), parser)
        overrides = {(el.get("PartName") or "").lstrip("/") for el in ct
                     if etree.QName(el).localname == "Override"}
        if part not in overrides:
            etree.SubElement(ct, f"{{{NS_CT}}}Override", PartName=f"/{part}",
                             ContentType=CUSTOM_TYPE)
            patched[CT_PART] = etree.tostring(ct, xml_declaration=True, encoding="UTF-8",
                                              standalone=True)
        kept: list[tuple[str, str]] = []
        pid = 1
        if part in names:
            for prop in etree.fromstring(zf.read(part), parser):
                number = prop.get("pid") or ""
                pid = max(pid, int(number)) if number.isdigit() else pid
                kept.append((prop.get("name") or "", etree.tostring(prop, encoding="unicode")))
        return cls(package=_replace_members(raw, zf, patched), part=part,
                   exists=part in names, kept=tuple(kept), next_pid=pid + 1)

    def custom_xml(self, properties: Mapping[str, str]) -> bytes:
        out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               f'<Properties xmlns="{NS_CUSTOM}" xmlns:vt="{NS_VT}">']
        out += [xml for name, xml in self.kept if name not in properties]
        for i, (name, value) in enumerate(properties.items()):
            out.append(_property(self.next_pid + i, name, value))
        out.append("</Properties>")
        return "".join(out).encode("utf-8")


def _replace_members(raw: bytes, zf: zipfile.ZipFile, patched: dict[str, bytes]) -> bytes:
    """The zip ``raw`` with the members in ``patched`` replaced (order and dates kept)."""
    if not patched:
        return raw
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in zf.infolist():
            data = patched.get(info.filename)
            if data is None:
                data = zf.read(info)
            new = zipfile.ZipInfo(info.filename, info.date_time)
            new.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(new, data)
    return buf.getvalue()


# --- reading ----------------------------------------------------------------------------------


def read_properties(data: bytes, filename: str = "formular.docx", *,
                    checked: Accepted | None = None) -> dict[str, str]:
    """The custom document properties of a .docx (name -> text); raises ``Refused`` for a
    file the intake refuses and ``ValueError`` for a broken custom part. ``checked``: the
    file as ``check_docx`` already accepted it (not checked again)."""
    from lxml import etree

    accepted = checked if checked is not None and checked.data is data \
        else check_docx(data, filename)
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


def read_identity(data: bytes, filename: str = "formular.docx", *,
                  checked: Accepted | None = None) -> IdentityReading:
    """The form's identity, or why there is none; never raises."""
    try:
        props = read_properties(data, filename, checked=checked)
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
