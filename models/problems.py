"""Problems found in a configuration: one line each, ``file:line key.path: message``."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.text import shown

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """``("committees", 2, "to", 0)`` -> ``committees[2].to[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    path: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        # the file name with its control characters escaped (see README
        # "Submissions and imports"); messages quote cells with repr(), which escapes them
        return f"{shown(self.file)}:{self.line} {self.path}: {prefix}{self.message}"


@dataclass
class ConfigError(Exception):
    """Raised when a configuration is refused; carries every problem found."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
