"""`make run`: the embedded default (SQLite, file-system broker, console SMS) end to end."""

import os
import re
import signal
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.ops.cluster import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def embedded_env(tmp_path) -> dict[str, str]:
    """A machine with only Python: no DATABASE_URL, no broker, no Twilio."""
    port = free_port()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "DEBUG": "true",
        "VAR_DIR": str(tmp_path / "var"),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PORT_FOR_TEST": str(port),
    }


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def _collect(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


def _post(url: str) -> int:
    body = b'{"summary": "Disk full on db1", "severity": "critical", "dedup_key": "db1-disk"}'
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def _sign_in(url: str, username: str, password: str) -> tuple[str, str]:
    """Sign in through the responder app's form as a browser would; return where it landed and
    what it showed."""
    jar = CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(f"{url}login/", timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    fields = {"csrfmiddlewaretoken": token, "username": username, "password": password}
    body = urllib.parse.urlencode({**fields, "next": "/"}).encode()
    request = urllib.request.Request(f"{url}login/", body, {"Referer": f"{url}login/"})
    with browser.open(request, timeout=10) as response:
        return response.url, response.read().decode()


def test_run_pages_on_the_console_and_ctrl_c_stops_everything(embedded_env):
    _manage(embedded_env, "migrate", "--noinput")
    demo = _manage(embedded_env, "demo")
    url = re.search(r"curl -X POST (\S+)", demo)[1]
    port = embedded_env["PORT_FOR_TEST"]
    runall = subprocess.Popen(
        [sys.executable, "manage.py", "runall", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=embedded_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    output: list[str] = []
    threading.Thread(target=_collect, args=(runall.stdout, output), daemon=True).start()
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/admin/login/"), timeout=60)
        wait_until(
            lambda: any("celery@" in line and "ready" in line for line in output), timeout=60
        )

        # The responder's sign-in printed beside the admin's lets Bob in to the app.
        assert re.search(r"^Admin: +http://\S+/admin/  \(user admin, password ", demo, re.M)
        home, username, password = re.search(
            r"Responder: (\S+)  \(user (\w+), password (\S+);", demo
        ).groups()
        landed, shown = _sign_in(home, username, password)
        assert landed == home and "<h1>Now</h1>" in shown and "Signed in as Bob Brown" in shown

        assert _post(url) == 202

        # Whoever the demo's weekly rotation has on call this week gets it (numbers +1555010000N).
        page = re.compile(
            r"\[SMS to \+15\*\*\*0\d\] #1 CRIT Payments API: Disk full on db1 "
            r"- reply 1A ack, 1R resolve"
        )
        wait_until(lambda: any(map(page.search, output)), timeout=30, what="console SMS")
    finally:
        os.killpg(runall.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        runall.wait(timeout=60)
    assert runall.returncode == 0, "".join(output[-40:])
    # The embedded broker keeps all its files under VAR_DIR, none in the checkout.
    assert (Path(embedded_env["VAR_DIR"]) / "broker" / "control" / "celery.exchange").exists()
    # Nor anything in the home directory (gunicorn's control socket), shared by every instance.
    assert not (Path(embedded_env["HOME"]) / ".gunicorn").exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(runall.pid, 0)  # nothing of web, worker or beat is left running
