"""The August status report and the October budget overview, as Danish Word documents.

- :mod:`letters.reports.data`: what they are made of (plain data) and their sums;
- :mod:`letters.reports.docx`: the python-docx helpers both share (cover, tables sized to
  their content, charts with alt text, language, saving);
- :mod:`letters.reports.status_report`, :mod:`letters.reports.budget_overview`: the documents;
- :mod:`letters.reports.markdown`: their figures as markdown for the artifacts, and the
  one-line summary of the run.

Building is pure (no clock, no database); the reports event gathers the data.
"""
