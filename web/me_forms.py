"""The Me page's forms: each checks with the model's own rules and says what is wrong in words."""

import datetime as dt
import functools
from zoneinfo import available_timezones

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from accounts.models import ApiToken, User
from oncall.durations import DurationFormField
from oncall.timezones import validate_time_zone
from paging.models import ContactKind, ContactMethod, NotificationRule

# Push subscriptions are added from the device itself (the push part of the page), not typed in.
KINDS = [
    (ContactKind.SMS, "SMS"),
    (ContactKind.VOICE, "Voice call"),
    (ContactKind.EMAIL, "E-mail"),
]
KIND_NEEDED = "Choose how to reach you: SMS, a voice call or e-mail."
DEFAULT_NAMES = {ContactKind.EMAIL: "e-mail"}


class MethodForm(forms.ModelForm):
    """Add a phone number or e-mail address of the signed-in person."""

    kind = forms.ChoiceField(
        choices=KINDS,
        error_messages={"required": KIND_NEEDED, "invalid_choice": KIND_NEEDED},
    )

    class Meta:
        model = ContactMethod
        fields = ["kind", "address", "name"]
        labels = {"address": "Number or address", "name": "Name (optional)"}
        help_texts = {"address": "A phone number with its country code (+15550100001)."}
        error_messages = {
            "address": {"required": "Enter a phone number such as +15550100001 or an e-mail."}
        }

    def __init__(self, *args, user: User, **kwargs) -> None:
        kwargs.setdefault("auto_id", "method_%s")
        super().__init__(*args, instance=ContactMethod(user=user), **kwargs)
        self.fields["name"].required = False
        self.fields["name"].widget.attrs["placeholder"] = "mobile"

    def clean_name(self) -> str:
        kind = self.cleaned_data.get("kind")
        return self.cleaned_data["name"] or DEFAULT_NAMES.get(kind, "mobile")

    def clean(self) -> dict:
        data = super().clean()
        kind, address = data.get("kind"), data.get("address")
        mine = ContactMethod.objects.filter(user=self.instance.user, kind=kind, address=address)
        if kind and address and mine.exists():
            what = dict(KINDS)[kind]
            self.add_error("address", f"You already have {address} for {what}.")
        return data


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=12,
        label="Code",
        error_messages={
            "required": "Enter the code we sent.",
            "max_length": "The code has 6 digits.",
        },
    )


class MethodChoice(forms.ModelChoiceField):
    def label_from_instance(self, method: ContactMethod) -> str:
        unverified = "" if method.verified else ", not verified yet"
        return f"{method.get_kind_display()} to {method.address} ({method.name}{unverified})"


class RuleForm(forms.ModelForm):
    """Add a step to the signed-in person's notification rules: which method, how long after."""

    contact_method = MethodChoice(
        queryset=ContactMethod.objects.none(),
        label="Contact method",
        empty_label=None,
        error_messages={
            "required": "Choose one of your contact methods (add one above first).",
            "invalid_choice": "Choose one of your own contact methods.",
        },
    )
    delay = DurationFormField(
        label="After",
        required=False,
        help_text="How long after the page: empty or 0 for at once; 2m, 1h30m.",
    )

    class Meta:
        model = NotificationRule
        fields = ["contact_method", "delay"]

    def __init__(self, *args, user: User, **kwargs) -> None:
        kwargs.setdefault("auto_id", "rule_%s")
        super().__init__(*args, instance=NotificationRule(user=user), **kwargs)
        self.fields["contact_method"].queryset = user.contact_methods.order_by("kind", "pk")

    def clean_delay(self) -> dt.timedelta:
        return self.cleaned_data["delay"] or dt.timedelta(0)


class TokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": "What it is for"}
        error_messages = {"name": {"required": "Name the token, e.g. 'CI deploys'."}}

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "token_%s")
        super().__init__(*args, **kwargs)


@functools.cache
def zone_choices() -> list[tuple[str, str]]:
    # available_timezones() walks the zone files on disk at each call: once per process is enough.
    return [(name, name) for name in sorted(available_timezones())]


class PlainSelect(forms.Select):
    """A select drawn in Python: Django's template per option costs ~20 ms for 600 zones."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        chosen = str(value) if value is not None else ""
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((v, " selected" if str(v) == chosen else "", label) for v, label in self.choices),
        )
        return format_html("<select{}>{}</select>", flatatt(attrs), options)


class ZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=zone_choices,
        widget=PlainSelect,
        label="My time zone",
        validators=[validate_time_zone],
        error_messages={
            "required": "Choose a time zone, such as Europe/Berlin.",
            "invalid_choice": "Choose a time zone from the list, such as Europe/Berlin.",
        },
    )
