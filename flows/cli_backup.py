"""``aarshjul backup FILE`` and ``aarshjul restore FILE`` (README "Backup and restore").

Both import SQLAlchemy inside the verb (through :mod:`flows.services.backup`), so the
read-only verbs stay fast. Messages for the coordinator are in Danish.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from flows.binding import setup_for
from flows.common import DEFAULT_CONFIG, ConfigOption, fail, load_or_exit, settings_or_exit

FileArg = Annotated[Path, typer.Argument(help="The archive (.tar.gz).", show_default=False)]


def backup(
    file: FileArg,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Write the database and the data directory (journal, documents, submissions) to one
    archive, consistent while serve runs."""
    from flows.services.backup import BackupError, create_backup
    from models.db import make_engine

    settings = settings_or_exit(config)
    try:
        engine = make_engine(settings.database_url)
    except Exception as exc:  # a malformed URL is a refusal, not a crash
        fail(f"afvist: databasen kan ikke åbnes: {exc}")
    try:
        r = create_backup(engine, settings.data_dir, file, created_at=datetime.now(UTC),
                          force=force)
    except BackupError as exc:
        fail(str(exc))
    except Exception as exc:  # the database could not be read: say so, leave nothing behind
        fail(f"afvist: sikkerhedskopien blev ikke skrevet: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
    print(f"Sikkerhedskopi skrevet: {r.path} ({r.size:,} bytes; {r.rows} rækker i "
          f"{len(r.tables)} tabeller, {r.files} filer; migration {r.revision}).")


def restore(
    file: FileArg,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the contents of a database that has rows.")
    ] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Bring the database back from an archive, add its files missing from the data
    directory (never overwriting one), and reconcile with the journal on disk: a message
    whose journal copy exists is never sent again. Stop serve and the workers first."""
    from flows.services.backup import BackupError, open_archive, restore_database, restore_files
    from flows.services.reconcile import reconcile_journal
    from models.db import make_engine

    settings = settings_or_exit(config)
    loaded = load_or_exit(config)
    data = settings.data_dir
    scratch = data.parent if data.parent.is_dir() else Path(tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix=".aarshjul-restore-", dir=scratch) as tmp:
        try:
            archive = open_archive(file, Path(tmp))
        except BackupError as exc:
            fail(str(exc))
        try:
            engine = make_engine(settings.database_url)
        except Exception as exc:  # a malformed URL is a refusal, not a crash
            fail(f"afvist: databasen kan ikke åbnes: {exc}")
        try:
            db = restore_database(engine, archive, force=force)
        except BackupError as exc:
            fail(str(exc))
        except Exception as exc:  # the transaction was rolled back: nothing was restored
            fail(f"afvist: databasen blev ikke genskabt ({type(exc).__name__}: {exc}); "
                 "intet er ændret.")
        finally:
            engine.dispose()
        try:
            files = restore_files(archive, data)
        except (BackupError, OSError) as exc:
            fail(f"{exc}\nDatabasen er genskabt; kør `aarshjul restore {file} --force` igen, "
                 "når fejlen er rettet.")
    st = setup_for(settings, actor="cli:restore", wheel=loaded.wheel)
    try:
        rec = reconcile_journal(st, datetime.now(UTC))
    finally:
        st.db.dispose()
    print(f"Databasen er genskabt fra {file} ({sum(db.tables.values())} rækker; migration "
          f"{db.revision}{'; det gamle indhold er erstattet' if db.replaced else ''}).")
    print(f"Datamappen {data}: {len(files.added)} filer tilføjet, {len(files.kept)} fandtes "
          "i forvejen og er beholdt.")
    print(f"Journalen: {len(rec.marked_sent)} beskeder markeret som sendt, {len(rec.added)} "
          f"sendte beskeder tilføjet fra journalen ({rec.slots} påmindelsestrin, "
          f"{rec.opened} anmodninger åbnet). De sendes ikke igen.")
    for lost in rec.lost_submissions:
        print(f"Bemærk: en kvittering ({lost['key']}) blev sendt til {lost['committee']} for "
              f"{lost['deliverable']} {lost['year']} kl. {lost['sent_at']}, efter "
              "sikkerhedskopien: registrér filen igen med `aarshjul submit ... --at "
              f"{lost['sent_at']}`, før andre filer registreres.", file=sys.stderr)
    for name in rec.unkeyed:
        print(f"Bemærk: journalkopien {name} kunne ikke knyttes til en besked.",
              file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
