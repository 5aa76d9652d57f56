from django.apps import AppConfig


class PagingConfig(AppConfig):
    name = "paging"

    def ready(self) -> None:
        from paging import checks  # noqa: F401 - registers the system checks
        from paging.notify import handoffs  # noqa: F401 - receives schedules' override signal
