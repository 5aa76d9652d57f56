"""`oncall apply FILE.yaml [--dry-run] [--prune]` and `oncall export [--out FILE]`."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.apply import apply_document, known_names
from config.fields import ConfigError
from config.parse import parse_text
from config.plan import summary
from config.read import read_document
from config.render import render_text


class Command(BaseCommand):
    help = "Apply a configuration file to the database, or export the database as one."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        apply = actions.add_parser("apply", help="make the database match FILE")
        apply.add_argument("file", help="the YAML file ('-' reads standard input)")
        apply.add_argument("--dry-run", action="store_true", help="say what would change")
        apply.add_argument("--prune", action="store_true", help="delete what FILE leaves out")
        export = actions.add_parser("export", help="write the configuration as YAML")
        export.add_argument("--out", help="write to this file instead of standard output")

    def handle(self, *args, **options) -> None:
        if options["action"] == "export":
            self._export(options.get("out"))
        else:
            self._apply(options["file"], dry_run=options["dry_run"], prune=options["prune"])

    def _export(self, out: str | None) -> None:
        text = render_text(read_document())
        if out:
            Path(out).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")

    def _apply(self, file: str, *, dry_run: bool, prune: bool) -> None:
        try:
            source = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from None
        try:
            document = parse_text(source, known=known_names(prune=prune))
            changes = apply_document(document, prune=prune, dry_run=dry_run)
        except ConfigError as error:
            raise CommandError(f"{file}: nothing changed:\n{error}") from None
        for change in changes:
            self.stdout.write(str(change))
        ending = " (dry run: nothing changed)" if dry_run else ""
        self.stdout.write(summary(changes) + ending)
