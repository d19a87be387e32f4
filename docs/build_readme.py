"""Assemble README.md from docs/README.frame.md and the parts in docs/readme/."""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build() -> str:
    frame = (HERE / "README.frame.md").read_text(encoding="utf-8")
    parts = HERE / "readme"

    def fill(m: re.Match[str]) -> str:
        p = parts / f"{m.group(1)}.md"
        return p.read_text(encoding="utf-8").strip() if p.exists() else ""

    text = re.sub(r"<!-- part:([a-z0-9-]+) -->", fill, frame)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text.replace("<!-- toc -->", _toc(text))


def _slug(title: str) -> str:
    """GitHub's anchor for a heading."""
    s = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return s.replace(" ", "-")


def _toc(text: str) -> str:
    lines, in_code = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("## "):
            title = line[3:].strip()
            lines.append(f"- [{title.replace('`', '')}](#{_slug(title)})")
    return "Contents:\n\n" + "\n".join(lines)


if __name__ == "__main__":
    out = HERE.parent / "README.md"
    text = build()
    if "--check" in sys.argv:
        sys.exit(0 if out.read_text(encoding="utf-8") == text else 1)
    out.write_text(text, encoding="utf-8")
