"""deploy: deployment specs from the plan; a real server, a real pool and a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from flows.deploy import (
    CHASE_ENTRY,
    DESK,
    EVENT_ENTRY,
    chase_cron,
    deploy_warnings,
    deployment_specs,
    desk_specs,
)
from models.config import load
from tests.flows.helpers import CPH, ROOT


def _long_wheel(tmp: Path) -> Path:
    """The Copenhagen wheel with its years extended to 2028 (so some events are ahead)."""
    text = (ROOT / "aarshjul.yaml").read_text(encoding="utf-8")
    assert "years: [2011, 2014]" in text
    out = tmp / "aarshjul.yaml"
    out.write_text(text.replace("years: [2011, 2014]", "years: [2011, 2028]"), encoding="utf-8")
    return out


def test_specs_from_the_plan(wheel_file: Path) -> None:
    wheel = load(wheel_file).wheel
    specs = {s.name: s for s in deployment_specs(wheel)}
    chase = specs.pop("rykkerkoersel")
    assert chase.entrypoint == CHASE_ENTRY and chase_cron(wheel) == "0 9 * * 1-5"
    (sched,) = chase.schedules
    assert (sched.kind, sched.expression) == ("cron", "0 9 * * 1-5")
    assert sched.timezone == "Europe/Copenhagen"
    intake = specs.pop("postkasse")
    assert (intake.entrypoint, intake.parameters) == ("flows/workflows.py:intake_flow", {})
    (every,) = intake.schedules  # every 10 minutes, in the policy's zone
    assert (every.kind, every.expression, every.timezone) == (
        "cron", "*/10 * * * *", "Europe/Copenhagen")
    desk = {name: specs.pop(name) for name in [d.name for d in DESK]}
    watch = specs.pop("vagt")  # serve's watchdog, every 5 minutes
    assert watch.entrypoint == "flows/workflows.py:watchdog_flow" and watch.parameters == {}
    assert [(w.kind, w.expression) for w in watch.schedules] == [("cron", "*/5 * * * *")]
    assert set(specs) == {e.key for e in wheel.events}
    assert all(d.schedules == () for n, d in desk.items() if n != "ugeoversigt")
    opf = specs["opfordring"]
    assert opf.entrypoint == EVENT_ENTRY
    assert opf.parameters == {"event": "opfordring"}  # no wheel, no path, no instant
    assert chase.parameters == {}
    assert [s.parameters for s in opf.schedules] == [{"year": y} for y in range(2011, 2015)]
    # 20 Jan 2013 was a Sunday: the event moves to Monday 21 Jan
    s2013 = next(s for s in opf.schedules if s.parameters == {"year": 2013})
    assert s2013.expression == "DTSTART:20130121T090000\nRRULE:FREQ=YEARLY;COUNT=1"
    later = deployment_specs(wheel, now=datetime(2013, 6, 1, tzinfo=CPH))
    opf_later = next(s for s in later if s.name == "opfordring")
    assert [s.parameters["year"] for s in opf_later.schedules] == [2014]


def test_desk_deployments_one_per_action_no_schedule_but_the_digest(wheel_file: Path) -> None:
    wheel = load(wheel_file).wheel
    specs = {s.name: s for s in desk_specs(wheel)}
    assert list(specs) == ["forlaeng", "fritag", "genaabn", "send-igen", "pause", "genoptag",
                           "registrer-svar", "laeg-svar-til-side", "koer-nu", "ugeoversigt"]
    assert specs["registrer-svar"].entrypoint == "flows/workflows.py:intake_accept_flow"
    assert specs["laeg-svar-til-side"].entrypoint == "flows/workflows.py:intake_dismiss_flow"
    assert specs["forlaeng"].entrypoint == "flows/workflows.py:extend_flow"
    assert specs["koer-nu"].entrypoint == EVENT_ENTRY
    assert specs["koer-nu"].parameters == {"dry_run": True}  # a UI run is a dry run at first
    (digest,) = specs["ugeoversigt"].schedules
    assert (digest.expression, digest.timezone, digest.parameters) == (
        "0 9 * * 1-5", "Europe/Copenhagen", {"only_on_digest_day": True})
    assert all(s.parameters in ({}, {"dry_run": True}) for s in specs.values())  # no path
    assert desk_specs(wheel, scheduled=False)[-1].schedules == ()
    off = load(wheel_file).wheel.model_copy(update={"policy": wheel.policy.model_copy(
        update={"digest": False})})
    assert {s.name: s for s in desk_specs(off)}["ugeoversigt"].schedules == ()


def test_deploy_warns_when_the_years_are_past(wheel_file: Path) -> None:
    wheel = load(wheel_file).wheel
    now = datetime(2026, 11, 30, 12, tzinfo=CPH)
    specs = deployment_specs(wheel, now)
    assert all(s.schedules == () for s in specs)  # nothing will ever be due, nor read
    (warning,) = deploy_warnings(wheel, specs, now)
    assert warning.startswith("Advarsel: politikkens år (2011-2014) er forbi")
    during = datetime(2012, 6, 1, tzinfo=CPH)
    assert deploy_warnings(wheel, deployment_specs(wheel, during), during) == []
    late = datetime(2014, 11, 1, tzinfo=CPH)  # the chase still runs; no event is left
    (w2,) = deploy_warnings(wheel, deployment_specs(wheel, late), late)
    assert "ingen hændelse er lagt i kalenderen (rykkerkørslen er)" in w2


def test_prefect_yaml_declares_the_same_deployments(wheel_file: Path) -> None:
    doc = yaml.safe_load((ROOT / "deploy" / "prefect.yaml").read_text(encoding="utf-8"))
    deps = {d["name"]: d for d in doc["deployments"]}
    wheel = load(wheel_file).wheel
    chase = deps["rykkerkoersel"]
    assert chase["entrypoint"] == CHASE_ENTRY
    assert chase["schedules"][0]["cron"] == chase_cron(wheel)
    assert chase["schedules"][0]["timezone"] == wheel.policy.timezone
    assert chase["work_pool"]["name"] == "aarshjul"
    intake = deps["postkasse"]
    assert intake["entrypoint"] == "flows/workflows.py:intake_flow"
    assert (intake["schedules"][0]["cron"], intake["schedules"][0]["timezone"]) == (
        "*/10 * * * *", wheel.policy.timezone)
    assert {e.key for e in wheel.events} <= set(deps)
    assert {d.name for d in DESK} <= set(deps)
    assert deps["vagt"]["entrypoint"] == "flows/workflows.py:watchdog_flow"
    assert deps["vagt"]["schedules"][0]["cron"] == "*/5 * * * *"
    assert all("config" not in d["parameters"] for d in deps.values())  # the flows take none


def test_compose_and_units_are_well_formed() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    assert {"postgres", "prefect-server", "worker", "serve"} <= set(compose["services"])
    for unit in ("server", "worker", "serve"):
        text = (ROOT / "deploy" / f"aarshjul-{unit}.service").read_text(encoding="utf-8")
        for key in ("User=", "WorkingDirectory=", "EnvironmentFile=", "Restart=on-failure",
                    "KillSignal=SIGTERM", "TimeoutStopSec=", "ExecStart="):
            assert key in text, (unit, key)
    doctor = (ROOT / "deploy" / "aarshjul-doctor.service").read_text(encoding="utf-8")
    for key in ("Type=oneshot", "UMask=0077", "aarshjul doctor", "LoadCredential=prefect-auth"):
        assert key in doctor, key
    timer = (ROOT / "deploy" / "aarshjul-doctor.timer").read_text(encoding="utf-8")
    assert "OnUnitActiveSec=5min" in timer and "WantedBy=timers.target" in timer
    env = (ROOT / "deploy" / "aarshjul.env.example").read_text(encoding="utf-8")
    for key in ("AARSHJUL_DATABASE_URL=", "AARSHJUL_SMTP_URL=", "PREFECT_API_URL=",
                "PREFECT_HOME="):
        assert key in env


# --------------------------------------------------------------------------- a real server


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    from flows.prefect_server import start_local_server

    home = tmp_path / "prefect-home"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    srv = start_local_server(port=None, env=env, log=tmp_path / "server.log", timeout=240)
    try:
        yield srv, env
    finally:
        srv.stop()


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 400) -> str:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_deploy_to_a_real_server_and_a_worker_runs_the_chase(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    from prefect import get_client
    from prefect.deployments import run_deployment
    from sqlmodel import Session, select

    from flows.prefect_server import use_api
    from models.db import make_engine
    from models.outbox import OutboxRow
    from models.watch import Heartbeat
    from tests.smtpd import serve as smtp_serve

    srv, base_env = server
    cfg = _long_wheel(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    bin_dir = Path(sys.executable).parent
    with smtp_serve() as smtp:
        env = {
            **base_env,
            "PREFECT_API_URL": srv.api_url,
            "AARSHJUL_DATABASE_URL": db_url,
            "AARSHJUL_DATA_DIR": str(tmp_path / "data"),
            "AARSHJUL_SMTP_URL": smtp.url,
            "AARSHJUL_CONFIG": str(cfg),
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
        out = _run([str(bin_dir / "aarshjul"), "deploy", "--pool", "p-test", "--config", str(cfg)],
                   env, tmp_path)
        assert "aarshjul-chase/rykkerkoersel" in out

        with use_api(srv.api_url), get_client(sync_client=True) as client:
            pool = client.read_work_pool("p-test")
            assert pool.type == "process"
            chase = client.read_deployment_by_name("aarshjul-chase/rykkerkoersel")
            assert chase.work_pool_name == "p-test"
            (sched,) = chase.schedules
            assert sched.schedule.cron == "0 9 * * 1-5"
            assert sched.schedule.timezone == "Europe/Copenhagen"
            assert chase.parameters == {}
            # the coordinators' deployments, in the same pool, with Danish titles
            ext = client.read_deployment_by_name("aarshjul-extend/forlaeng")
            assert ext.work_pool_name == "p-test" and ext.schedules == []
            props = ext.parameter_openapi_schema["properties"]
            assert (props["until"]["title"], props["dry_run"]["default"]) == ("Ny frist", True)
            now = client.read_deployment_by_name("aarshjul-event/koer-nu")
            assert now.parameters == {"dry_run": True}
            (weekly,) = client.read_deployment_by_name("aarshjul-digest/ugeoversigt").schedules
            assert weekly.parameters == {"only_on_digest_day": True}
            opf = client.read_deployment_by_name("aarshjul-event/opfordring")
            years = sorted(s.parameters["year"] for s in opf.schedules)
            assert years[0] == 2027 and years[-1] == 2028  # 2026's instant has passed
            s27 = next(s for s in opf.schedules if s.parameters["year"] == 2027)
            assert s27.schedule.timezone == "Europe/Copenhagen"
            assert "DTSTART:20270120T090000" in s27.schedule.rrule

            # A run that names a wheel, a folder or an instant is refused by the server: the
            # flows take none, and the deployments enforce their parameter schema.
            for bad in ({"year": 2027, "config": "/dev/shm/evil.yaml"},
                        {"year": 2027, "preview_dir": "/etc"},
                        {"year": 2027, "as_of": "2033-01-20T09:00"}):
                with pytest.raises(Exception, match=r"(?i)parameter|validation|schema|additional"):
                    client.create_flow_run_from_deployment(opf.id, parameters=bad)
            # letters, then the chase, each created with run_deployment and run by a worker,
            # as of now (the worker's clock): next year's letters go out, no reminder is due
            for name, params in (
                ("aarshjul-event/opfordring", {"year": 2027}),
                ("aarshjul-chase/rykkerkoersel", {}),
                ("aarshjul-watchdog/vagt", {}),  # serve's watchdog, on a worker
            ):
                fr = run_deployment(name=name, parameters=params, timeout=0)
                _run([str(bin_dir / "prefect"), "worker", "start", "--pool", "p-test",
                      "--run-once", "--type", "process"], env, ROOT)
                done = client.read_flow_run(fr.id)
                assert done.state is not None and done.state.is_completed(), (name, done.state)

    engine = make_engine(db_url)
    with Session(engine) as s:
        rows = list(s.exec(select(OutboxRow)).all())
        beat = s.get(Heartbeat, "watchdog")
    engine.dispose()
    letters = [r for r in rows if r.kind == "letter"]
    assert len(letters) == 7 and {r.year for r in letters} == {2027}
    assert [r for r in rows if r.kind == "reminder"] == []  # opened now: nothing due yet
    assert all(r.status == "sent" for r in rows)
    assert beat is not None and not beat.stopped  # the watchdog deployment's round beat
    got = [m for m in smtp.handler.received if m.message["X-Aarshjul-Kind"] == "letter"]
    assert len(got) == 7


def test_deploy_without_a_server_is_refused(tmp_path: Path, wheel_file: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("aarshjul")), "deploy", "--config", str(wheel_file)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "refused: deploy needs a lasting Prefect server" in proc.stderr
