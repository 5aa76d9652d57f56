"""The one guarded fetcher for our outbound HTTP: only public addresses unless allowed, in every
spelling, at every redirect hop; errors name a category, never the response body."""

import shutil
import ssl
import subprocess

import pytest

from oncall.outbound import OutboundError, get
from tests.fakes.feed_server import FeedServer

REFUSED = "refused: private address"


@pytest.fixture
def feed():
    with FeedServer() as server:
        server.state.body = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
        yield server


def refusal(url: str) -> str:
    with pytest.raises(OutboundError) as caught:
        get(url)
    return str(caught.value)


def test_a_local_server_is_refused_by_default_and_never_contacted(feed):
    assert refusal(feed.url("/team.ics")) == REFUSED
    assert feed.state.requests == []


def test_a_local_server_is_fetched_when_its_network_is_allowed(feed, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    got = get(feed.url("/team.ics"))
    assert (got.status, got.body) == (200, feed.state.body)
    assert feed.state.requests[0].headers["Host"] == feed.url("").split("://")[1]


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "localhost",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "[fd00:ec2::254]",
        "[fe80::1]",
        "[fc00::1]",
        "224.0.0.1",
        "[ff02::1]",
        "0.0.0.0",
        "[::]",
        "240.0.0.1",
        "[2002:7f00:1::]",
        "[64:ff9b::7f00:1]",
    ],
)
def test_every_spelling_of_a_non_public_address_is_refused(host):
    assert refusal(f"http://{host}:8080/calendar.ics") == REFUSED


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/"],
)
def test_cloud_metadata_is_refused_even_inside_an_allowed_network(url, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["169.254.0.0/16", "fd00::/8"]
    assert refusal(url) == REFUSED


@pytest.mark.parametrize(
    "url", ["ftp://calendar.example.com/x.ics", "file:///etc/passwd", "gopher://127.0.0.1:70/"]
)
def test_schemes_other_than_http_https_and_webcal_are_refused(url):
    assert refusal(url) == "refused: scheme"


def test_webcal_is_fetched_over_https(feed, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    # The feed server speaks plain HTTP: a TLS handshake with it fails, over http it would not.
    assert refusal(feed.url("/team.ics").replace("http://", "webcal://")) == "TLS failed"
    assert refusal("webcal:///team.ics") == "refused: no host"


def test_a_redirect_from_an_allowed_host_to_a_refused_one_is_refused(feed, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    feed.state.redirect = "http://169.254.169.254/latest/meta-data/iam/"
    assert refusal(feed.url("/team.ics")) == REFUSED
    feed.state.redirect = "http://10.0.0.5/team.ics"
    assert refusal(feed.url("/team.ics")) == REFUSED


def test_redirects_are_followed_and_each_hop_checked(feed, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with FeedServer() as target:
        target.state.body = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
        feed.state.redirect = target.url("/moved.ics")
        assert get(feed.url("/team.ics")).body == target.state.body
        assert [r.path for r in target.state.requests] == ["/moved.ics"]
        settings.OUTBOUND_ALLOWED_NETWORKS = []
        assert refusal(feed.url("/team.ics")) == REFUSED


def test_a_redirect_loop_stops_after_five_hops(feed, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    feed.state.redirect = "/again.ics"
    assert refusal(feed.url("/team.ics")) == "too many redirects"
    assert len(feed.state.requests) == 6


def test_errors_name_a_status_or_a_size_never_the_body(feed, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    feed.state.status = 404
    assert refusal(feed.url("/team.ics")) == "HTTP 404"  # the server's body says "Internal error"
    feed.state.status, feed.state.body = 200, b"x" * 4096
    with pytest.raises(OutboundError, match=r"^too large$"):
        get(feed.url("/team.ics"), max_bytes=1024)


def test_a_closed_port_is_a_connection_failure(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert refusal("http://127.0.0.1:9/team.ics") == "could not connect"


def _openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA, and certificates it signed for localhost and for another name."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make test certificates")
    where = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "2", "-subj", "/CN=oncall test CA", cwd=where)  # fmt: skip
    for name in ("localhost", "calendar.example"):
        (where / f"{name}.ext").write_text(f"subjectAltName=DNS:{name}\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                 f"{name}.csr", "-subj", f"/CN={name}", cwd=where)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile",
                 f"{name}.ext", cwd=where)  # fmt: skip
    return where


def _https_feed(certificates, name: str) -> FeedServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / f"{name}.pem", certificates / f"{name}.key")
    server = FeedServer(tls=context)
    server.state.body = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    return server


@pytest.fixture
def trusting_the_test_ca(certificates, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.OUTBOUND_CA_BUNDLE = str(certificates / "ca.pem")


def test_https_goes_to_the_checked_address_and_verifies_the_certificate_by_name(
    certificates, trusting_the_test_ca
):
    with _https_feed(certificates, "localhost") as feed:
        got = get(feed.url("/team.ics", host="localhost"))

        assert (got.status, got.body) == (200, feed.state.body)
        assert feed.state.requests[0].headers["Host"] == feed.url("", host="localhost")[8:]


def test_https_with_a_certificate_for_another_name_fails_tls(certificates, trusting_the_test_ca):
    with _https_feed(certificates, "calendar.example") as feed:
        assert "TLS failed" in refusal(feed.url("/team.ics", host="localhost"))
        assert feed.state.requests == []


def test_https_with_an_unknown_ca_fails_tls(certificates, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    with _https_feed(certificates, "localhost") as feed:
        assert "TLS failed" in refusal(feed.url("/team.ics", host="localhost"))
