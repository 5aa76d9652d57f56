"""The incidents list's choices: whose (mine, my teams', all), which status, which service."""

from urllib.parse import urlencode

from django import forms
from django.db.models import QuerySet

from accounts.models import User
from paging.models import OPEN_STATUSES, Incident, IncidentStatus, Service
from web import incidents as found

SCOPES = [
    ("mine", "Paged me"),
    ("mine+teams", "Paged me or my teams"),  # what Now shows
    ("teams", "My teams"),
    ("all", "All I may see"),
]
STATUSES = [
    ("open", "Open"),
    (IncidentStatus.TRIGGERED, "Triggered"),
    (IncidentStatus.ACKNOWLEDGED, "Acknowledged"),
    (IncidentStatus.RESOLVED, "Resolved"),
    ("any", "Any"),
]


class IncidentFilter(forms.Form):
    scope = forms.ChoiceField(
        choices=SCOPES,
        required=False,
        error_messages={"invalid_choice": "Choose whose incidents: paged me, my teams or all."},
    )
    status = forms.ChoiceField(
        choices=STATUSES,
        required=False,
        error_messages={
            "invalid_choice": "Choose a status: open, triggered, acknowledged, resolved or any."
        },
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        empty_label="Every service",
        error_messages={"invalid_choice": "Choose one of the services listed."},
    )

    def __init__(self, data=None, *, user: User) -> None:
        super().__init__(data)
        self.user = user
        self.readable = found.readable(user)
        # Only the services of incidents the viewer may read: their names are on those rows.
        services = Service.objects.filter(pk__in=self.readable.values("service_id"))
        self.fields["service"].queryset = services.order_by("name")
        self.fields["scope"].initial = self.default_scope()
        self.fields["status"].initial = "open"

    def default_scope(self) -> str:
        return "teams" if found.my_teams_any(self.user) else "all"

    def value(self, name: str):
        """Return the chosen value, or the field's default when none was chosen."""
        chosen = self.cleaned_data.get(name) if self.is_bound else None
        return chosen or self.fields[name].initial

    def incidents(self) -> QuerySet[Incident]:
        """Return the incidents chosen, among those the viewer may read."""
        chosen = self.readable
        scope = self.value("scope")
        if scope == "mine":
            chosen = chosen.filter(found.paged_me(self.user))
        elif scope == "teams":
            chosen = chosen.filter(found.my_teams(self.user))
        elif scope == "mine+teams":
            chosen = chosen.filter(found.my_teams(self.user) | found.paged_me(self.user))
        status = self.value("status")
        if status == "open":
            chosen = chosen.filter(status__in=OPEN_STATUSES)
        elif status != "any":
            chosen = chosen.filter(status=status)
        if self.value("service"):
            chosen = chosen.filter(service=self.value("service"))
        return chosen

    def query(self) -> str:
        """Return the chosen filters as a query string, for the links to other pages."""
        service = self.value("service")
        return urlencode(
            {
                "scope": self.value("scope"),
                "status": self.value("status"),
                "service": service.pk if service else "",
            }
        )
