"""``aarshjul backup`` and ``aarshjul restore`` (README "Backup and restore").

An archive is a gzip'd tar, 0600, written to a temporary file beside the target and renamed
into place, holding::

    database/<table>.jsonl   every table of ours: a header line, then one JSON row a line
    data/<path>              every file under the data directory (journal, documents,
                             submissions, the file transport's mail)
    manifest.json            format, aarshjul version, migration head, created_at, the
                             row count of each table, and the size and SHA-256 of every
                             other member

Consistency while ``serve`` runs: the database is read in one transaction (PostgreSQL:
REPEATABLE READ; SQLite: one read transaction, a WAL snapshot), and the files are copied
after it ends. The sender writes a message's journal copy before it commits the row
``sent``, and a submission's file is stored before its registration commits, so every
journal copy and submission the snapshot refers to is on disk before the files are read.
``journal/index.jsonl`` and ``index.csv`` are read under the journal's lock, so neither is
torn; an .eml written after that has no line in the copied index, and restore rebuilds the
entry from the file (:meth:`letters.journal.Journal.repair`).

The database export is logical (SQLAlchemy, the same for both databases), not ``pg_dump``:
no dependency on a client whose version must match the server's, and an archive made on
SQLite restores on PostgreSQL and back. APScheduler's job store is left out: serve rebuilds
its wake-ups from the wheel at start.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import (
    Date,
    DateTime,
    Engine,
    LargeBinary,
    Numeric,
    Table,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

from letters.private import atomic_file
from models.db import FOREIGN_TABLES, alembic_config, all_metadata, current_revision, upgrade
from models.plan import require_aware

FORMAT = 1
APPLICATION = "aarshjul"
MANIFEST = "manifest.json"
DB_PREFIX = "database/"
DATA_PREFIX = "data/"
BATCH = 500
# never copied from the data directory: the journal's lock, and half-written temporary files
_SKIP_NAMES = frozenset({".index.lock"})
_TMP = re.compile(r"\.tmp\d*$")


class BackupError(Exception):
    """Backup or restore refused or failed; the message says why (CLI: exit 1)."""


def _version() -> str:
    try:
        return version(APPLICATION)
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


def tables() -> list[Table]:
    """Our tables in foreign-key order (parents first)."""
    return [t for t in all_metadata().sorted_tables if t.name not in FOREIGN_TABLES]


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


# --- values ---------------------------------------------------------------------------


def _enc(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decoder(table: Table) -> list[Any]:
    """Per column, how a JSON value becomes the column's Python value again."""
    out: list[Any] = []
    for c in table.columns:
        t = c.type
        impl = getattr(t, "impl", t)
        if isinstance(impl, LargeBinary):
            out.append(base64.b64decode)
        elif isinstance(impl, DateTime):
            out.append(datetime.fromisoformat)
        elif isinstance(impl, Date):
            out.append(date.fromisoformat)
        elif isinstance(impl, Numeric) and getattr(impl, "asdecimal", False):
            out.append(Decimal)
        else:
            out.append(None)
    return out


# --- backup ---------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    revision: str
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    size: int = 0

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _check_target(target: Path, force: bool) -> None:
    if not target.parent.is_dir():
        raise BackupError(f"refused: the directory {target.parent} does not exist; "
                          "nothing was written.")
    if target.is_dir():
        raise BackupError(f"refused: {target} is a directory; give a file name.")
    if target.exists() and not force:
        raise BackupError(f"refused: {target} exists; give --force to replace it. "
                          "Nothing was written.")


class _Writer:
    """The tar being written, and the manifest's entries for what went in."""

    def __init__(self, tar: tarfile.TarFile, mtime: float) -> None:
        self.tar, self.mtime = tar, mtime
        self.files: dict[str, dict[str, Any]] = {}

    def add_stream(self, name: str, f: IO[bytes], size: int, sha: str) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(self.mtime)
        self.tar.addfile(info, f)
        self.files[name] = {"size": size, "sha256": sha}

    def add_bytes(self, name: str, data: bytes, mtime: float | None = None) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o600, int(mtime or self.mtime)
        self.tar.addfile(info, io.BytesIO(data))
        self.files[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction: every table as of the same instant."""
    conn = engine.connect()
    try:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET TRANSACTION READ ONLY"))
            yield conn
    finally:
        conn.close()


def _dump_table(conn: Connection, table: Table, w: _Writer, spool: Path) -> int:
    pk = list(table.primary_key.columns) or list(table.columns)
    names = [c.name for c in table.columns]
    h = hashlib.sha256()
    n = 0
    path = spool / f"{table.name}.jsonl"
    with open(path, "w+b") as f:
        head = (json.dumps({"table": table.name, "columns": names}) + "\n").encode()
        f.write(head)
        h.update(head)
        result = conn.execution_options(yield_per=BATCH).execute(select(table).order_by(*pk))
        for row in result:
            line = (json.dumps([_enc(v) for v in row], ensure_ascii=False) + "\n").encode()
            f.write(line)
            h.update(line)
            n += 1
        size = f.tell()
        f.seek(0)
        w.add_stream(f"{DB_PREFIX}{table.name}.jsonl", f, size, h.hexdigest())
    path.unlink()
    return n


def _journal_index(journal: Path) -> dict[str, bytes]:
    """index.jsonl and index.csv, read under the journal's lock (no half-written line)."""
    out: dict[str, bytes] = {}
    if not journal.is_dir():
        return out
    with open(journal / ".index.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for name in ("index.jsonl", "index.csv"):
                with contextlib.suppress(FileNotFoundError):
                    out[name] = (journal / name).read_bytes()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return out


def _is_temporary(name: str) -> bool:
    """The journal's lock, and the temporary files our atomic writes rename into place
    (``x.tmp1234``, ``.x.tmp``)."""
    return name in _SKIP_NAMES or _TMP.search(name) is not None


def data_files(data: Path, exclude: set[Path]) -> Iterator[tuple[str, Path]]:
    """(path relative to ``data``, path) of the regular files under ``data`` to archive,
    sorted; symlinks and temporary files are left out, and so are the paths in ``exclude``
    (a SQLite database kept there)."""
    base = data.resolve()  # no symlink is followed below: every path here is resolved

    def walk(directory: Path, prefix: str) -> Iterator[tuple[str, Path]]:
        with os.scandir(directory) as it:
            found = sorted(it, key=lambda e: e.name)
        for e in found:
            if e.is_dir(follow_symlinks=False):
                yield from walk(Path(e.path), f"{prefix}{e.name}/")
            elif e.is_file(follow_symlinks=False) and not _is_temporary(e.name):
                p = Path(e.path)
                if p not in exclude:
                    yield f"{prefix}{e.name}", p

    if base.is_dir():
        yield from walk(base, "")


def sqlite_files(engine: Engine) -> set[Path]:
    """The SQLite database file and its -wal/-shm companions (never copied as files)."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return set()
    db = Path(engine.url.database).resolve()
    return {db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")}


def create_backup(engine: Engine, data: Path, target: Path, *, created_at: datetime,
                  force: bool = False) -> BackupResult:
    """Write the archive of the database at ``engine`` and the data directory ``data`` to
    ``target`` (see the module docstring). Raises :class:`BackupError`."""
    require_aware(created_at, "created_at")
    target = Path(target)
    _check_target(target, force)
    known = set(known_revisions())
    with atomic_file(target, sync=True) as raw:
        result = _write(engine, data, raw, created_at, known, target)
    with contextlib.suppress(OSError):
        dfd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    result.size = target.stat().st_size
    return result


def _write(engine: Engine, data: Path, raw: IO[bytes], created_at: datetime,
           known: set[str], target: Path) -> BackupResult:
    with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1, format=tarfile.GNU_FORMAT,
                      encoding="utf-8") as tar, \
            tempfile.TemporaryDirectory(prefix=".aarshjul-backup-", dir=target.parent) as sp:
        w = _Writer(tar, created_at.timestamp())
        with _snapshot(engine) as conn:
            revision = current_revision(conn)
            if revision is None:
                raise BackupError("refused: the database has no tables of aarshjul (it was "
                                  "never migrated); nothing to back up.")
            if revision not in known:
                raise BackupError(f"refused: the database is at migration {revision}, which "
                                  "this version of aarshjul does not know.")
            counts = {t.name: _dump_table(conn, t, w, Path(sp)) for t in tables()}
        result = BackupResult(target, revision, counts)
        # after the snapshot: every file the snapshot refers to is on disk by now
        index = _journal_index(data / "journal")
        exclude = sqlite_files(engine)
        for rel, p in data_files(data, exclude):
            if rel.startswith("journal/") and rel.removeprefix("journal/") in index:
                continue
            try:
                with open(p, "rb") as f:
                    content = f.read()
                    mtime = os.fstat(f.fileno()).st_mtime
            except FileNotFoundError:  # removed meanwhile (a temporary file renamed)
                continue
            w.add_bytes(DATA_PREFIX + rel, content, mtime)
            result.files += 1
        for name, content in index.items():
            w.add_bytes(f"{DATA_PREFIX}journal/{name}", content)
            result.files += 1
        manifest = {
            "format": FORMAT, "application": APPLICATION, "version": _version(),
            "migration_head": revision, "created_at": created_at.isoformat(),
            "backend": engine.dialect.name, "tables": counts, "files": w.files,
        }
        w.add_bytes(MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return result


# --- reading an archive ---------------------------------------------------------------


@dataclass
class Archive:
    """An archive unpacked into ``root`` and checked against its manifest."""

    root: Path  # where the database members were unpacked
    manifest: dict[str, Any]
    file: Path  # the archive itself: the data files are read from it when restored

    @property
    def revision(self) -> str:
        return str(self.manifest["migration_head"])

    def data_files(self) -> list[str]:
        return sorted(n.removeprefix(DATA_PREFIX) for n in self.manifest["files"]
                      if n.startswith(DATA_PREFIX))


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts and bool(p.parts)


def open_archive(file: Path, into: Path) -> Archive:
    """Verify ``file``: every member a regular file with a safe name, listed in the manifest
    with its SHA-256, and every listed file present; the database members are unpacked into
    ``into``. Nothing outside ``into`` is touched. Raises :class:`BackupError`."""
    if not file.is_file():
        raise BackupError(f"refused: {file} does not exist or is not a file.")
    sums: dict[str, str] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(file, mode="r:gz") as tar:
            for m in tar:
                if not m.isfile() or not _safe_member(m.name) or m.name in sums:
                    raise BackupError(f"refused: {file}: the member {m.name!r} is not a plain "
                                      "file of an aarshjul archive; nothing was restored.")
                src = tar.extractfile(m)
                assert src is not None
                if m.name == MANIFEST:
                    manifest_bytes = src.read(10_000_000)
                    sums[m.name] = ""
                    continue
                h = hashlib.sha256()
                if m.name.startswith(DB_PREFIX):  # unpacked; data files are only checked
                    dest = into / m.name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with open(dest, "wb") as out:
                        while chunk := src.read(1 << 20):
                            h.update(chunk)
                            out.write(chunk)
                else:
                    while chunk := src.read(1 << 20):
                        h.update(chunk)
                sums[m.name] = h.hexdigest()
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise BackupError(f"refused: {file} is not a readable archive ({exc}); nothing was "
                          "restored.") from None
    if manifest_bytes is None:
        raise BackupError(f"refused: {file} has no {MANIFEST}; nothing was restored.")
    try:
        manifest = json.loads(manifest_bytes)
        ok = (manifest.get("application") == APPLICATION and isinstance(manifest["files"], dict)
              and isinstance(manifest["migration_head"], str))
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise BackupError(f"refused: {file}: its {MANIFEST} is not an aarshjul manifest; "
                          "nothing was restored.")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"refused: {file} has archive format {manifest.get('format')!r}; "
                          f"this version of aarshjul reads format {FORMAT}.")
    listed = set(manifest["files"])
    found = set(sums) - {MANIFEST}
    for name in sorted(found | listed):
        want = manifest["files"].get(name, {}).get("sha256") if name in listed else None
        if name not in found:
            raise BackupError(f"refused: {file}: {name} is in the manifest but not in the "
                              "archive; nothing was restored.")
        if want != sums[name]:
            raise BackupError(f"refused: {file}: the checksum of {name} does not match the "
                              "manifest (the archive is damaged or was altered); nothing was "
                              "restored.")
    return Archive(into, manifest, file)


# --- restore --------------------------------------------------------------------------


@dataclass
class Restored:
    revision: str
    tables: dict[str, int] = field(default_factory=dict)
    replaced: bool = False  # a non-empty database was overwritten (--force)
    added: list[str] = field(default_factory=list)  # files added to the data directory
    kept: list[str] = field(default_factory=list)  # files the data directory already had


def _row_counts(conn: Connection) -> dict[str, int]:
    have = set(inspect(conn).get_table_names())
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in tables() if t.name in have}


def restore_database(engine: Engine, archive: Archive, *, force: bool = False) -> Restored:
    """Bring the archive's tables into the database at ``engine`` in one transaction, then
    migrate it to this version's head. A database with rows is refused unless ``force``
    (then its rows are replaced). Raises :class:`BackupError`."""
    rev = archive.revision
    if rev not in known_revisions():
        raise BackupError(
            f"refused: the archive is from a newer version of aarshjul (migration {rev}; this "
            f"one knows up to {head_revision()}). Restore it with that version; nothing was "
            "restored.")
    current = current_revision(engine)
    if current is None:
        upgrade(engine, rev)
    elif current != rev:
        with engine.connect() as conn:
            rows = sum(_row_counts(conn).values())
        raise BackupError(
            f"refused: the database is at migration {current} and the archive at {rev}"
            + (f" (and the database holds {rows} rows)" if rows else "")
            + ": restore into an empty database (a new SQLite file or PostgreSQL database). "
            "Nothing was restored.")
    out = Restored(rev)
    with engine.begin() as conn:
        counts = _row_counts(conn)
        busy = {k: v for k, v in counts.items() if v}
        if busy and not force:
            what = ", ".join(f"{v} in {k}" for k, v in sorted(busy.items()))
            raise BackupError(f"refused: the database is not empty ({what}); restore will not "
                              "overwrite it. Give --force to replace its contents with the "
                              "archive's. Nothing was restored.")
        out.replaced = bool(busy)
        for t in reversed(tables()):
            if busy:
                conn.execute(t.delete())
        want = archive.manifest.get("tables", {})
        for t in tables():
            n = out.tables[t.name] = _load_table(conn, t, archive)
            if n != want.get(t.name, 0):
                raise BackupError(f"refused: the archive's table {t.name} has {n} rows, its "
                                  f"manifest says {want.get(t.name, 0)}; nothing was restored.")
        if engine.dialect.name == "postgresql":
            _reset_sequences(conn)
    upgrade(engine)
    return out


def _load_table(conn: Connection, table: Table, archive: Archive) -> int:
    path = archive.root / f"{DB_PREFIX}{table.name}.jsonl"
    if not path.exists():
        return 0  # a table this archive's migration did not have
    decode = _decoder(table)
    n = 0
    with open(path, "rb") as f:
        head = json.loads(f.readline())
        names = list(head["columns"])
        cols = {c.name: (i, decode[i]) for i, c in enumerate(table.columns)}
        unknown = [c for c in names if c not in cols]
        if unknown:
            raise BackupError(f"refused: the archive's table {table.name} has columns this "
                              f"version does not know: {', '.join(unknown)}")
        conv = [cols[c][1] for c in names]
        batch: list[dict[str, Any]] = []
        for line in f:
            values = json.loads(line)
            batch.append({c: (v if fn is None or v is None else fn(v))
                          for c, fn, v in zip(names, conv, values, strict=True)})
            if len(batch) >= BATCH:
                conn.execute(table.insert(), batch)
                n += len(batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
            n += len(batch)
    return n


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: each id sequence continues after the highest id restored."""
    for t in tables():
        pk = list(t.primary_key.columns)
        if len(pk) != 1 or pk[0].autoincrement is False:
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                           {"t": t.name, "c": pk[0].name}).scalar()
        if seq is None:
            continue
        top = conn.execute(select(func.max(pk[0]))).scalar() or 0
        conn.execute(text("SELECT setval(:s, :n, false)"), {"s": seq, "n": int(top) + 1})


def restore_files(archive: Archive, data: Path) -> Restored:
    """Add the archive's data files missing from ``data``; an existing file is never
    overwritten (the one on disk is the newer). Directories 0700, files 0600; each file is
    checked against the manifest again as it is written, and the data directory is synced
    once at the end. Raises :class:`BackupError`."""
    out = Restored(archive.revision)
    files = archive.manifest["files"]
    try:
        with tarfile.open(archive.file, mode="r:gz") as tar:
            for m in tar:
                if not m.name.startswith(DATA_PREFIX) or m.name not in files:
                    continue
                rel = m.name.removeprefix(DATA_PREFIX)
                dest = data / rel
                if dest.exists() or dest.is_symlink():
                    out.kept.append(rel)
                    continue
                src = tar.extractfile(m)
                assert src is not None
                if _add_file(src, dest, files[m.name]["sha256"]):
                    out.added.append(rel)
                else:
                    out.kept.append(rel)
    except (tarfile.TarError, EOFError) as exc:
        raise BackupError(f"{archive.file}: the archive could not be read again ({exc}); "
                          f"{len(out.added)} files were added.") from None
    if out.added:
        os.sync()
    return out


def _add_file(src: IO[bytes], dest: Path, sha: str) -> bool:
    """Write ``dest`` from ``src`` unless a file appeared there meanwhile; False then."""
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    h = hashlib.sha256()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                f.write(chunk)
        if h.hexdigest() != sha:
            raise BackupError(f"{dest}: the archive's copy changed since it was checked; "
                              "not restored.")
        try:
            os.link(tmp, dest)  # fails if a file appeared meanwhile: never overwritten
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)
