"""The status report with excused and extended requests: an excused request is listed as
excused (not missing), an extension shows its new date, a withdrawn registration is not
read."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import docx

from flows import runs
from flows.services.report_data import gather
from letters.reports.markdown import status_markdown
from letters.reports.status_report import chart_images, status_report_docx
from tests.dbtools import database
from tests.flows.helpers import at, form_docx, make_setup


def test_excused_is_not_missing_and_an_extension_shows_its_date(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as eng:
        st = make_setup(eng, tmp_path)
        runs.event(st, "opfordring", 2012, at("2012-01-20T09:00"))
        runs.extend(st, 2012, "TMU", "handleplan", date(2012, 5, 11), at("2012-04-25T10:00"))
        runs.excuse(st, 2012, "SOU", "handleplan", at("2012-04-25T11:00"))
        reg = runs.submit(st, 2012, "BUU", "handleplan", form_docx(
            st, tmp_path / "buu.docx", "BUU", "handleplan"), at("2012-04-26T10:00")).registered
        assert reg is not None
        runs.reopen(st, at("2012-04-27T10:00"), submission=reg.submission_id)
        data = gather(st, 2012, at("2012-08-15T09:00"), "Statusrapport 2012")
    by = {(c.key, h.deliverable): h for c in data.committees for h in c.handins}
    assert (by[("SOU", "handleplan")].status, by[("TMU", "handleplan")].due,
            by[("TMU", "handleplan")].extended) == ("excused", date(2012, 5, 11), True)
    assert by[("BUU", "handleplan")].status == "missing"
    assert by[("BUU", "handleplan")].reading is None  # the withdrawn form is not read
    d = docx.Document(io.BytesIO(status_report_docx(data, charts=chart_images(data))))
    header = [c.text for c in d.tables[0].rows[0].cells]
    assert header[-2:] == ["Fritaget", "I alt"]
    rows = {r.cells[0].text: [c.text for c in r.cells[2:]] for r in d.tables[0].rows[1:]}
    # handleplan: none on time or late, 6 missing (TMU's 11 May has passed), SOU excused
    assert rows["Revideret handleplan"] == ["0", "0", "6", "0", "1", "7"]
    cells = [[c.text for c in r.cells] for t in d.tables for r in t.rows]
    assert ["Revideret handleplan", "11. maj 2012 (forlænget)", "mangler", "–"] in cells
    assert ["Revideret handleplan", "1. maj 2012", "fritaget", "–"] in cells
    missing = [row for row in cells if len(row) == 3 and row[1] == "Revideret handleplan"]
    assert not any("(SOU)" in row[0] for row in missing)
    assert "| Fritaget |" in status_markdown(data)
