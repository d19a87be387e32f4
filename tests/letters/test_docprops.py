"""A form's identity as custom document properties: written by the renderer, kept by
python-docx and LibreOffice, read back without trusting the file."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letters.context import form_context
from letters.docprops import (
    CUSTOM_PART,
    P_CHECK,
    P_COMMITTEE,
    P_YEAR,
    FormIdentity,
    read_identity,
    read_properties,
)
from letters.readback import read_form
from letters.render import DocxTemplate, template, template_path
from models.config import load
from models.kinds import IdentityStatus
from models.plan import year_plan
from tests import ROOT

BUU = FormIdentity(2012, "BUU", "handleplan")


@pytest.fixture(scope="module")
def ctx() -> dict[str, object]:
    wheel = load(ROOT / "aarshjul.yaml").wheel
    return form_context(wheel, year_plan(wheel, 2012), "handleplan", "BUU")


@pytest.fixture(scope="module")
def form(ctx: dict[str, object]) -> bytes:
    return template("formular").render(ctx, properties=BUU.properties())


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


def with_custom(data: bytes, xml: str) -> bytes:
    parts = members(data)
    parts[CUSTOM_PART] = xml.encode("utf-8")
    return rezip(parts)


def props_xml(**values: str) -> str:
    body = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{i}" name="{k}">'
        f"<vt:lpwstr>{v}</vt:lpwstr></property>" for i, (k, v) in enumerate(values.items(), 2))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Properties xmlns="http://'
            'schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://'
            f'schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">{body}</Properties>')


def test_the_renderer_writes_the_identity(form: bytes, ctx: dict[str, object]) -> None:
    got = read_identity(form)
    assert got.status is IdentityStatus.FOUND and got.identity == BUU and got.reason == ""
    parts = members(form)
    assert b"relationships/custom-properties" in parts["_rels/.rels"]
    assert b'PartName="/docProps/custom.xml"' in parts["[Content_Types].xml"]
    assert read_properties(form)[P_COMMITTEE] == "BUU"
    t = template("formular")
    plain = t.render(ctx)
    assert t.render(ctx) == plain  # without properties: the renderer's output as before
    assert CUSTOM_PART not in members(plain)
    assert t.render(ctx, properties=BUU.properties()) == form  # deterministic
    other = t.render(ctx, properties=FormIdentity(2013, "KFU", "redegoerelse").properties())
    assert read_identity(other).identity == FormIdentity(2013, "KFU", "redegoerelse")
    # the document itself is the same form
    goals = ["HM1", "HM3", "HM5"]
    assert read_form(form, goals) == read_form(plain, goals)
    zipfile.ZipFile(io.BytesIO(form)).testzip()


def test_it_survives_python_docx(form: bytes) -> None:
    d = docx.Document(io.BytesIO(form))
    d.add_paragraph("Udvalget har drøftet handleplanen og tilføjer dette afsnit.")
    d.core_properties.author = "BUU's sekretariat"
    out = io.BytesIO()
    d.save(out)
    assert read_identity(out.getvalue()).identity == BUU


@pytest.mark.office
def test_it_survives_a_libreoffice_resave(form: bytes, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) is not installed")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "formular.docx").write_bytes(form)
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "docx", "--outdir", str(tmp_path / "out"),
         str(tmp_path / "in" / "formular.docx")],
        check=True, capture_output=True, timeout=240,
    )
    resaved = (tmp_path / "out" / "formular.docx").read_bytes()
    assert resaved != form
    got = read_identity(resaved)
    assert got.status is IdentityStatus.FOUND and got.identity == BUU


def test_a_template_keeps_its_own_properties(tmp_path: Path, ctx: dict[str, object]) -> None:
    parts = members(template_path("formular").read_bytes())
    parts[CUSTOM_PART] = props_xml(Afdeling="BIF", **{P_YEAR: "1999"}).encode()
    parts["_rels/.rels"] = parts["_rels/.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/custom-properties" Target="docProps/custom.xml"/></Relationships>')
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/docProps/custom.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>')
    path = tmp_path / "formular.docx"
    path.write_bytes(rezip(parts))
    data = DocxTemplate(path).render(ctx, properties=BUU.properties())
    props = read_properties(data)
    assert props["Afdeling"] == "BIF" and props[P_YEAR] == "2012"
    assert read_identity(data).identity == BUU
    assert members(data)["_rels/.rels"].count(b"custom-properties") == 1


def test_without_an_identity(ctx: dict[str, object]) -> None:
    plain = io.BytesIO()
    docx.Document().save(plain)
    for data in (plain.getvalue(), template("formular").render(ctx),
                 with_custom(plain.getvalue(), props_xml(Afdeling="BIF"))):
        got = read_identity(data)
        assert got.status is IdentityStatus.NONE and got.identity is None
        assert "no form identity" in got.reason
    pdf = read_identity(b"%PDF-1.4 not a form")
    assert pdf.status is IdentityStatus.NONE and "refused" in pdf.reason


def test_a_forged_identity(form: bytes) -> None:
    props = read_properties(form)
    props[P_COMMITTEE] = "KFU"  # someone edited the committee in Word's properties dialog
    got = read_identity(with_custom(form, props_xml(**props)))
    assert got.status is IdentityStatus.FORGED
    assert got.identity == FormIdentity(2012, "KFU", "handleplan")
    assert "does not match its check value" in got.reason
    props = read_properties(form)
    props[P_CHECK] = "0" * 16
    assert read_identity(with_custom(form, props_xml(**props))).status is IdentityStatus.FORGED


@pytest.mark.parametrize(("change", "fragment"), [
    ({P_YEAR: "tyve-tolv"}, "not a year"),
    ({P_YEAR: "٢٠١٢"}, "not a year"),
    ({P_COMMITTEE: "B U U"}, "not a key"),
    ({P_COMMITTEE: "<script>"}, "not a key"),
    ({"aarshjul-version": "2"}, "unknown form identity version"),
    ({"aarshjul-aflevering": ""}, "lacks aarshjul-aflevering"),
])
def test_a_malformed_identity(form: bytes, change: dict[str, str], fragment: str) -> None:
    props = {**read_properties(form), **change}
    xml = props_xml(**{k: v.replace("<", "&lt;") for k, v in props.items()})
    got = read_identity(with_custom(form, xml))
    assert got.status is IdentityStatus.MALFORMED and fragment in got.reason, got


def test_broken_custom_parts(form: bytes) -> None:
    broken = read_identity(with_custom(form, "<Properties><property name='x'>"))
    assert broken.status in (IdentityStatus.MALFORMED, IdentityStatus.NONE)
    twice = props_xml(**read_properties(form)).replace(
        "</Properties>", '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="9" '
        'name="aarshjul-udvalg"><vt:lpwstr>KFU</vt:lpwstr></property></Properties>')
    got = read_identity(with_custom(form, twice))
    assert got.status is IdentityStatus.MALFORMED and "twice" in got.reason
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "BUU">]><Properties/>'
    refused = read_identity(with_custom(form, doctype))
    assert refused.status is IdentityStatus.NONE and "DOCTYPE" in refused.reason


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(
    st.sampled_from(["aarshjul-version", "aarshjul-aar", "aarshjul-udvalg",
                     "aarshjul-aflevering", "aarshjul-kontrol", "andet"]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)))
def test_any_properties_read_without_raising(form: bytes, values: dict[str, str]) -> None:
    from xml.sax.saxutils import escape

    got = read_identity(with_custom(form, props_xml(**{k: escape(v) for k, v in values.items()})))
    assert got.status in set(IdentityStatus)
    assert (got.identity is not None) == (got.status in (IdentityStatus.FOUND,
                                                         IdentityStatus.FORGED))
