"""A person's notification rules in words, as admin shows them on the rule list and their page."""

import datetime as dt

from accounts.models import User
from oncall.logs import mask_phone
from paging.engine import Rule, rules_for
from paging.models import ContactKind, ContactMethod

# What each kind of contact method sends, as it reads in a sentence.
KIND_WORDS = {ContactKind.SMS: "SMS", ContactKind.VOICE: "a call", ContactKind.EMAIL: "an e-mail"}
UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def rules_sentence(user: User) -> str:
    """Return how `user` is paged, e.g. "SMS to +15***01 at once, then a call after 2 minutes"."""
    return rules_sentences([user])[user.pk]


def rules_sentences(people: list[User]) -> dict[int, str]:
    """Return how each of `people` is paged, by user id, from one read of their rules."""
    return {pk: _sentence(rules) for pk, rules in rules_for(people).items()}


def _sentence(rules: list[Rule]) -> str:
    if not rules:
        return "Nobody can reach this person: no contact methods"
    steps, previous = [], None
    for _key, method, delay in rules:
        steps.append(_step(method, delay, same_address=previous == method.address))
        previous = method.address
    # Rules of the site default have keys made from the contact method ("c…"), own rules "r…".
    default = " (the site default)" if rules[0][0].startswith("c") else ""
    return ", then ".join(steps) + default


def _step(method: ContactMethod, delay: dt.timedelta, *, same_address: bool) -> str:
    """Return one rule in words; the address is left out when the rule before used it."""
    what = KIND_WORDS.get(method.kind, method.get_kind_display())
    to = "" if same_address else f" to {mask_phone(method.address)}"
    return f"{what}{to} {delay_words(delay)}"


def delay_words(delay: dt.timedelta) -> str:
    """Return a rule's delay in words: "at once", "after 2 minutes", "after 1 hour 30 minutes"."""
    seconds = int(delay.total_seconds())
    if seconds <= 0:
        return "at once"
    parts = []
    for unit, size in UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return "after " + " ".join(parts)
