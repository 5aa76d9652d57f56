"""Verify a contact method from the shell: with the code its owner received, or outright."""

from django.core.management.base import BaseCommand, CommandError

from oncall.limits import Limited
from paging.models import ContactMethod
from paging.notify.verification import (
    contact_method_mark_verified,
    contact_method_verification_send,
    contact_method_verify,
    verify_refused_why,
)


class Command(BaseCommand):
    help = "Verify a contact method: --code CODE (what its owner got), --mark, or --send a code."

    def add_arguments(self, parser) -> None:
        parser.add_argument("contact_method_id", type=int)
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--code", help="the code sent to the number or address")
        group.add_argument("--mark", action="store_true", help="mark verified without a code")
        group.add_argument("--send", action="store_true", help="send a fresh code")

    def handle(self, *args, contact_method_id: int, code: str | None, **options) -> None:
        method = ContactMethod.objects.select_related("user").filter(pk=contact_method_id).first()
        if method is None:
            raise CommandError(f"contact method {contact_method_id}: no such contact method")
        if options["send"]:
            self._send(method)
        elif options["mark"]:
            contact_method_mark_verified(method=method)
            self.stdout.write(f"{method}: verified.")
        elif contact_method_verify(method=method, code=code or ""):
            self.stdout.write(f"{method}: verified.")
        else:
            raise CommandError(f"code: {verify_refused_why(method)}")

    def _send(self, method: ContactMethod) -> None:
        try:
            contact_method_verification_send(method=method)
        except Limited as error:
            raise CommandError(f"{method}: code not sent: {error}") from None
        self.stdout.write(f"Code sent to {method}.")
