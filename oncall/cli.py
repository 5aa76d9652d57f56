"""`oncall`: the command line, installed into `.venv/bin/` by `make run` (or `pip install`).

It is `manage.py` with two conveniences. First, the local defaults `make run` uses: with neither
`DEBUG` nor `SECRET_KEY` set, it runs with `DEBUG=true`, so `.venv/bin/oncall …` works on the
embedded SQLite database straight after `make run`. A production shell sets `SECRET_KEY` (and
leaves `DEBUG` off), and then nothing is assumed. Second, short names for the commands people
type most: `oncall apply` and `oncall export` (configuration as code), `oncall now` (who is on
call). Every other Django command works by its own name: `oncall migrate`, `oncall contact_verify`.
"""

import os
import sys
from collections.abc import MutableMapping

SHORT_NAMES = {
    "apply": ["oncall", "apply"],
    "export": ["oncall", "export"],
    "now": ["oncall_now"],
}


def _local_defaults(environ: MutableMapping[str, str]) -> None:
    """Turn DEBUG on when nothing says this is a production shell."""
    said = ("DEBUG", "SECRET_KEY", "SECRET_KEY_FILE")
    if not any(environ.get(name, "").strip() for name in said):
        environ["DEBUG"] = "true"


def command_line(argv: list[str]) -> list[str]:
    """Return Django's command line for `oncall ARGS`: short names expanded."""
    program, *args = argv
    if args and args[0] in SHORT_NAMES:
        args = SHORT_NAMES[args[0]] + args[1:]
    return [program, *args]


def main() -> None:
    """Run one management command with the local defaults."""
    _local_defaults(os.environ)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(command_line(sys.argv))


if __name__ == "__main__":
    main()
