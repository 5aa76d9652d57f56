"""A NUL (`%00`) in a URL's path is 404 and in its query 400 naming the parameter: never a 5xx.

PostgreSQL refuses NUL in any text it is given, so a NUL that reached a lookup was a 500 (or, on a
webhook, a 503 that Alertmanager retries forever and the metrics count as a failed alert).
"""

import pytest
from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import client_for
from tests.factories import IntegrationFactory, UserFactory

pytestmark = pytest.mark.django_db

NUL = "\x00"


def _named_routes(patterns: list, namespace: str = ""):
    """Yield (qualified name, parameter names) for every named route under `patterns`."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_routes(pattern.url_patterns, inner)
        elif pattern.name:
            yield namespace + pattern.name, list(pattern.pattern.regex.groupindex)


def _paths_with_a_nul() -> list[str]:
    """Return each route's URL with a NUL in every parameter, where its converters take one."""
    found = set()
    for name, params in _named_routes(get_resolver().url_patterns):
        if not params:
            continue
        try:
            found.add(reverse(name, kwargs=dict.fromkeys(params, NUL)))
        except NoReverseMatch:
            continue  # an int converter or a fixed choice: a NUL never reaches this view
    return sorted(found)


PATHS = _paths_with_a_nul()


def _list_query_parameters() -> list[tuple[str, str]]:
    """Return (path, parameter) for every query parameter of every API list route."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, parameter["name"])
        for path, operations in schema["paths"].items()
        if "{" not in path and "get" in operations
        for parameter in operations["get"].get("parameters", [])
        if parameter["in"] == "query"
    ]


QUERIES = _list_query_parameters()


@pytest.fixture
def staff(db):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = client_for(root)
    client.force_login(root)  # admin pages too
    client.raise_request_exception = False
    return client


def test_the_walks_find_the_routes_that_take_text():
    assert {"/integrations/%00/", "/calendar/%00.ics"} <= set(PATHS)
    assert "/api/v1/services/%00/" not in PATHS  # API ids take digits only: no view sees a NUL
    assert "/admin/paging/incident/%00/change/" in PATHS
    assert {
        ("/api/v1/services/", "name"),
        ("/api/v1/incidents/", "service"),
        ("/api/v1/users/", "username"),
        ("/api/v1/integrations/", "kind"),
        ("/api/v1/overrides/", "user"),
    } <= set(QUERIES)


@pytest.mark.parametrize("url", PATHS)
def test_nul_in_a_path_is_404(staff, url):
    for method in ("get", "post"):
        response = getattr(staff, method)(url)

        assert response.status_code == 404, (method, response.content[:200])


@pytest.mark.parametrize(("path", "parameter"), QUERIES, ids=[f"{p}?{q}" for p, q in QUERIES])
def test_nul_in_a_list_filter_is_400_naming_the_parameter(staff, path, parameter):
    response = staff.get(path, {parameter: f"db{NUL}1"})

    assert response.status_code == 400, response.content[:200]
    assert response.json()["field"] == parameter


def test_nul_in_a_query_parameter_name_is_400(staff):
    response = staff.get("/api/v1/services/", {f"na{NUL}me": "db"})

    assert response.status_code == 400
    assert response.json()["field"] == f"na{NUL}me"


def _alerts_received(client) -> dict[str, float]:
    text = client.get("/metrics").content.decode()
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "oncall_alerts_received_total" and sample.labels["kind"] == "unknown"
    }


def test_nul_as_an_integration_key_is_an_unknown_key_not_a_failed_alert(client, payments):
    IntegrationFactory(service=payments)
    before = _alerts_received(client)

    response = client.post("/integrations/%00/", "{}", content_type="application/json")

    assert response.status_code == 404
    after = _alerts_received(client)
    assert after.get("failed", 0) == before.get("failed", 0)
    assert after.get("refused", 0) == before.get("refused", 0) + 1
