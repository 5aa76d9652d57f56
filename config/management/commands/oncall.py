"""`oncall apply FILE.yaml [--dry-run] [--prune] [--team SLUG [--token TOKEN]]` and
`oncall export [--out FILE] [--team SLUG]`."""

import getpass
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.access import is_site_admin
from accounts.models import ApiToken
from audit.context import acting
from audit.models import Via
from config.apply import apply_document, known_names
from config.fields import ConfigError
from config.parse import parse_text
from config.plan import summary
from config.read import read_document
from config.render import render_text
from config.scope import Scope, active_token, scope_for, token_person


class Command(BaseCommand):
    help = "Apply a configuration file to the database, or export the database as one."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        apply = actions.add_parser("apply", help="make the database match FILE")
        apply.add_argument("file", help="the YAML file ('-' reads standard input)")
        apply.add_argument("--dry-run", action="store_true", help="say what would change")
        apply.add_argument("--prune", action="store_true", help="delete what FILE leaves out")
        apply.add_argument("--team", help="apply only this team's part (its slug)")
        apply.add_argument("--token", help="act as this API token's person (or ONCALL_TOKEN)")
        export = actions.add_parser("export", help="write the configuration as YAML")
        export.add_argument("--out", help="write to this file instead of standard output")
        export.add_argument("--team", help="write only this team's part (its slug)")

    def handle(self, *args, **options) -> None:
        if options["action"] == "export":
            self._export(options.get("out"), options.get("team"))
        else:
            token = options.get("token") or os.environ.get("ONCALL_TOKEN")
            scope = _scope(options.get("team"), token)
            # The audit log records the changes as the token's person's, or the server user's.
            with acting(via=Via.APPLY, token=_token_row(token), os_user=_os_user()):
                self._apply(
                    options["file"], dry_run=options["dry_run"], prune=options["prune"], scope=scope
                )

    def _export(self, out: str | None, team: str | None) -> None:
        if team is not None:
            _scope(team, None)  # the team must exist
        text = render_text(read_document(team))
        if out:
            Path(out).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")

    def _apply(self, file: str, *, dry_run: bool, prune: bool, scope: Scope | None) -> None:
        try:
            source = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from None
        try:
            known = known_names(prune=prune, team=scope.team if scope else None)
            document = parse_text(source, known=known)
            changes = apply_document(document, prune=prune, dry_run=dry_run, scope=scope)
        except ConfigError as error:
            raise CommandError(f"{file}: nothing changed:\n{error}") from None
        for change in changes:
            self.stdout.write(str(change))
        ending = " (dry run: nothing changed)" if dry_run else ""
        self.stdout.write(summary(changes) + ending)


def _scope(team: str | None, token: str | None) -> Scope | None:
    """Return the part of a file to apply, and as whom: all of it, as the operator, by default."""
    actor = None
    if token:
        actor = token_person(token)
        if actor is None:
            raise CommandError("the token is not valid")  # never echo it
        if team is None and not is_site_admin(actor):
            raise CommandError("name the team whose part to apply: --team SLUG")
    if team is None:
        return None
    try:
        return scope_for(team, actor)
    except PermissionError as error:
        raise CommandError(str(error)) from None


def _token_row(raw: str | None) -> ApiToken | None:
    """Return the API token `raw` is (checked by _scope), to name it in the audit log."""
    return active_token(raw) if raw else None


def _os_user() -> str:
    """Return who runs the command on the server, for the audit log (no person is named)."""
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):  # a container's user id with no name
        return ""
