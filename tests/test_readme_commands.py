"""Every command line in the README works as a newcomer types it, right after `make run`.

The command lines of the README's `sh` blocks are read from the README itself. Those of the
`oncall` command line run here, in order, in a fresh directory on the embedded default (no
DEBUG, no SECRET_KEY, no DATABASE_URL: a newcomer's shell). The rest need the running service,
the network or the whole suite; each such kind is named below with its reason, so a new
README command is either run here or said to need one of them.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLI = ".venv/bin/oncall"

# Command lines not run here, by how they start, and why.
NOT_RUN = {
    "make ": "installs, then starts the service, the suite or the benchmarks (CI runs `make test`)",
    "DATABASE_URL=": "the suite or a benchmark against PostgreSQL and Redis",
    "curl ": "talks to the running service over HTTP",
    "TOKEN=": "an API token the running service issued",
    ".venv/bin/python bench/": "a benchmark against real PostgreSQL, Redis and workers",
}
# Lines that show a refusal (a made-up code): they must answer in words, not succeed.
REFUSED = {f"{CLI} contact_verify 1 --code 123456": "code: wrong or expired"}


def readme_commands() -> list[str]:
    """Return the README's shell command lines, continuations joined, comments dropped."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (ROOT / "README.md").read_text(), re.M | re.S)
    commands, pending = [], ""
    for line in "\n".join(blocks).replace("\\\n", " ").splitlines():
        pending += line + "\n"
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:
            continue  # a quote that closes on a later line
        commands.append(shlex.join(words))
        pending = ""
    return [command for command in commands if command]


def test_every_readme_command_is_run_here_or_named_as_needing_the_service():
    commands = readme_commands()
    unnamed = [
        c for c in commands if not c.startswith(CLI + " ") and not c.startswith(tuple(NOT_RUN))
    ]

    assert any(c.startswith(CLI) for c in commands)
    assert unnamed == []


def _newcomer_env(tmp_path: Path) -> dict[str, str]:
    """A shell with only PATH and HOME: the embedded default under a fresh VAR_DIR."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "VAR_DIR": str(tmp_path / "var")}


def _run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        shlex.split(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_readme_command_lines_work_as_written(tmp_path):
    cli = Path(sys.prefix) / "bin" / "oncall"
    if not cli.exists():
        pytest.fail(f"{cli} is missing: install the project (make install) to get the command")
    (tmp_path / ".venv").symlink_to(sys.prefix)  # the README's `.venv/bin/…`, from any directory
    env = _newcomer_env(tmp_path)
    for setup in (f"{CLI} migrate --noinput", f"{CLI} demo"):  # what `make run` does first
        assert _run(setup, tmp_path, env).returncode == 0

    for command in [c for c in readme_commands() if c.startswith(CLI + " ")]:
        result = _run(command, tmp_path, env)
        said = result.stdout + result.stderr

        assert "Traceback" not in said, f"{command}\n{said}"
        if command in REFUSED:
            assert (result.returncode, REFUSED[command] in said) == (1, True), f"{command}\n{said}"
        else:
            assert result.returncode == 0, f"{command}\n{said}"


@pytest.mark.parametrize(
    ("extra", "debug"),
    [({}, "True"), ({"SECRET_KEY": "from-the-vault"}, "False"), ({"DEBUG": "false"}, None)],
    ids=["a newcomer's shell", "a production shell", "DEBUG said off"],
)
def test_oncall_command_assumes_local_defaults_only_when_nothing_says_otherwise(
    tmp_path, extra, debug
):
    env = _newcomer_env(tmp_path) | extra
    show = "from django.conf import settings; print(settings.DEBUG)"

    result = _run(f"{sys.prefix}/bin/oncall shell -c {shlex.quote(show)}", tmp_path, env)

    if debug is None:  # off without a key is refused, as manage.py refuses it
        assert "SECRET_KEY: required when DEBUG is off" in result.stderr
    else:
        assert result.stdout.splitlines()[-1] == debug, result.stderr
