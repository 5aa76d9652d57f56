"""deploy/ parsed for real: compose against the compose-spec schema, Kubernetes manifests against
the Kubernetes schemas (strict), systemd units by systemd-analyze, the Dockerfile by Docker's own
parser; then what those tools cannot know (queues covered, probes on the right paths)."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest
import yaml
from django.conf import settings

from oncall.routing import QUEUE_NAMES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def k8s_objects() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def queues_of(args: list[str]) -> set[str]:
    return set(args[args.index("-Q") + 1].split(","))


# --- docker compose -----------------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec_schema():
    result = run(
        sys.executable,
        *("-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"),
        str(DEPLOY / "docker-compose.yml"),
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services_depend_on_services_and_volumes_that_exist():
    spec = compose()
    services, volumes = spec["services"], set(spec["volumes"])

    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
        named = {
            v.split(":")[0] for v in service.get("volumes", []) if not v.startswith(("/", "."))
        }
        assert named <= volumes, name
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name], name
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_worker_pools_consume_every_queue_and_run_one_beat():
    services = compose()["services"]
    workers = [
        s
        for s in services.values()
        if s.get("command", [])[:5] == ["celery", "-A", "oncall", "--quiet", "worker"]
    ]

    consumed = set().union(*(queues_of(w["command"]) for w in workers))
    assert consumed == set(QUEUE_NAMES)
    assert len(workers) >= 3
    beats = [
        s
        for s in services.values()
        if s.get("command", [])[:5] == ["celery", "-A", "oncall", "--quiet", "beat"]
    ]
    assert len(beats) == 1


def node_of(command: list[str]) -> str:
    """The name a Celery worker or beat answers pings on, from its `-n pool@host`."""
    return command[command.index("-n") + 1].split("@")[0]


def probed_node(probe: str) -> str:
    """The node a `celery inspect ping -d pool@host` liveness probe pings."""
    words = probe.split()
    assert words[:5] == ["celery", "-A", "oncall", "inspect", "ping"], probe
    return words[words.index("-d") + 1].split("@")[0]


def test_compose_probes_each_worker_pool_and_beat_on_its_own_node():
    services = compose()["services"]
    celery = {n: s for n, s in services.items() if s.get("command", [])[:1] == ["celery"]}

    assert len(celery) >= 4
    for name, service in celery.items():
        kind, probe = service["healthcheck"]["test"]
        assert kind == "CMD-SHELL" and "$$(hostname)" in probe, name
        assert probed_node(probe) == node_of(service["command"]), name


# --- Kubernetes ---------------------------------------------------------------------------------


def test_kubernetes_manifests_pass_strict_schema_validation():
    result = run(
        sys.executable,
        *("-m", "kubernetes_validate", "--strict", "--kubernetes-version", "1.30.0"),
        *map(str, MANIFESTS),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout


def _containers(kind: str) -> dict[str, dict]:
    found = {}
    for obj in k8s_objects():
        if obj["kind"] == kind:
            pod = obj["spec"]["template"]["spec"]
            found[obj["metadata"]["name"]] = pod | {"container": pod["containers"][0]}
    return found


def test_web_is_probed_on_readyz_and_healthz_and_served_through_tls():
    web = _containers("Deployment")["oncall-web"]["container"]

    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    ingress = next(o for o in k8s_objects() if o["kind"] == "Ingress")
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


def test_kubernetes_workers_cover_every_queue_each_with_an_autoscaler():
    deployments = _containers("Deployment")
    workers = {n: d for n, d in deployments.items() if n.startswith("oncall-worker-")}
    scaled = {
        o["spec"]["scaleTargetRef"]["name"]
        for o in k8s_objects()
        if o["kind"] == "HorizontalPodAutoscaler"
    }

    assert set().union(*(queues_of(w["container"]["args"]) for w in workers.values())) == set(
        QUEUE_NAMES
    )
    assert scaled == set(workers)
    for worker in workers.values():
        assert worker["terminationGracePeriodSeconds"] >= 30


def test_kubernetes_probes_each_worker_pool_and_beat_on_its_own_pod_node():
    deployments = _containers("Deployment")
    celery = [d["container"] for n, d in deployments.items() if n != "oncall-web"]

    assert len(celery) >= 4
    for container in celery:
        shell, flag, probe = container["livenessProbe"]["exec"]["command"]
        assert (shell, flag) == ("sh", "-c")
        # The pod's name reaches both: as $(POD_NAME) in args, as $POD_NAME in the probe's shell.
        assert probed_node(probe) == node_of(container["args"]), container["args"]
        assert "@$(POD_NAME)" in " ".join(container["args"]) and "@$POD_NAME" in probe
        assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in (
            container["env"]
        )


def test_one_beat_never_two_and_a_migrate_job():
    beat = next(o for o in k8s_objects() if o["metadata"]["name"] == "oncall-beat")
    job = next(o for o in k8s_objects() if o["kind"] == "Job")

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == [
        "migrate",
        "--noinput",
    ]


def test_every_pod_runs_as_non_root():
    for kind in ("Deployment", "Job"):
        for name, pod in _containers(kind).items():
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            assert pod["container"]["securityContext"]["allowPrivilegeEscalation"] is False, name


# --- systemd ------------------------------------------------------------------------------------


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        message = "systemd-analyze is not installed (apt-get install systemd)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    # Point the units at this checkout and this interpreter, so that their commands exist here.
    units = []
    for unit in (DEPLOY / "systemd").glob("*.*"):
        text = unit.read_text()
        text = text.replace("/opt/oncall/venv", sys.prefix).replace("/opt/oncall/app", str(ROOT))
        text = text.replace("User=oncall", "User=root").replace("Group=oncall", "Group=root")
        name = unit.name.replace("@.service", "@core.service")
        (tmp_path / name).write_text(text)
        units.append(str(tmp_path / name))

    result = run(analyze, "verify", *units)

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_parses_and_runs_gunicorn_as_a_non_root_user_from_a_slim_image():
    commands = dockerfile.parse_file(str(DEPLOY / "Dockerfile"))
    final = commands[max(i for i, c in enumerate(commands) if c.cmd == "FROM") :]

    assert final[0].value[0].endswith("-slim")
    (user,) = [c.value[0] for c in final if c.cmd == "USER"]
    assert not user.startswith(("0", "root"))
    (cmd,) = [c.value for c in final if c.cmd == "CMD"]
    assert cmd[0] == "gunicorn" and cmd[-1] == "oncall.wsgi"


def test_dockerfile_copies_every_app_and_files_that_exist():
    commands = dockerfile.parse_file(str(DEPLOY / "Dockerfile"))
    copied = [c.value[:-1] for c in commands if c.cmd == "COPY" and not c.flags]
    sources = {src for group in copied for src in group}

    assert all((ROOT / src).exists() for src in sources), sources
    ours = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()
    }
    assert ours <= sources
    entrypoint = DEPLOY / "entrypoint.sh"
    assert entrypoint.stat().st_mode & stat.S_IXUSR


def test_systemd_liveness_restarts_only_the_settled_unit_whose_node_does_not_answer(tmp_path):
    """deploy/systemd/oncall-liveness against a stand-in systemctl and celery on PATH: it maps
    each running unit to its node (`oncall-worker@phone` → `phone@<host>`), pings it, and
    restarts only the one that stays silent; a unit that has just started is left to connect."""
    uptime = int(float(Path("/proc/uptime").read_text().split()[0]))
    started = {  # unit: seconds since it became active
        "oncall-worker@core.service": 600,
        "oncall-worker@phone.service": 600,
        "oncall-beat.service": 5,
    }
    host = os.uname().nodename
    (tmp_path / "answering").write_text(f"core@{host}\n")
    fakes = {
        "systemctl": f"""#!/bin/sh
case "$1" in
  list-units) printf '%s loaded active running x\\n' {" ".join(started)} ;;
  show) case "$4" in {
            " ".join(f"{u}) echo {(uptime - age) * 1_000_000} ;;" for u, age in started.items())
        } esac ;;
  restart) echo "$2" >> {tmp_path}/restarted ;;
esac
""",
        "celery": f"""#!/bin/sh
echo "$@" >> {tmp_path}/pings
while [ "$1" != "-d" ]; do shift; done
grep -qx "$2" {tmp_path}/answering
""",
    }
    for name, text in fakes.items():
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    env = os.environ | {
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "RUN_AS": "",
        "RETRY_AFTER": "0",
    }
    env |= {"CELERY": str(tmp_path / "celery")}

    result = subprocess.run(
        [str(DEPLOY / "systemd" / "oncall-liveness")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "restarted").read_text().split() == ["oncall-worker@phone.service"]
    assert f"phone@{host} did not answer two pings" in result.stdout
    pinged = (tmp_path / "pings").read_text().splitlines()
    nodes = [line.split("-d ")[1].split()[0] for line in pinged]
    assert nodes == [f"core@{host}", f"phone@{host}", f"phone@{host}"]  # a silent one: twice
