"""URL safety: which addresses are off limits, and which URLs preflight refuses to fetch."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producer.safety import (
    IPAddress,
    Resolver,
    UnreachableSource,
    UnsafeSource,
    check_url,
    classify,
    classify_address,
    origin,
    resolve_host,
)

OFF_LIMITS = {
    "127.0.0.0/8": "loopback",
    "10.0.0.0/8": "private",
    "172.16.0.0/12": "private",
    "192.168.0.0/16": "private",
    "169.254.0.0/16": "link-local",
    "224.0.0.0/4": "multicast",
    "100.64.0.0/10": "not globally routable",
    "::1/128": "loopback",
    "fe80::/10": "link-local",
    "fc00::/7": "private",
    "ff00::/8": "multicast",
}
PUBLIC = ["8.8.8.0/24", "1.1.1.0/24", "151.101.0.0/16", "2606:4700::/32", "2a00:1450::/32"]


def addresses_in(network: str) -> st.SearchStrategy[IPAddress]:
    net = ipaddress.ip_network(network)
    return st.integers(0, net.num_addresses - 1).map(lambda offset: net[offset])


@pytest.mark.parametrize(("network", "reason"), sorted(OFF_LIMITS.items()))
@settings(database=None)
@given(data=st.data())
def test_every_address_of_an_internal_range_is_refused(
    network: str, reason: str, data: st.DataObject
) -> None:
    address = data.draw(addresses_in(network))
    assert classify_address(address) == reason


@settings(database=None)
@given(address=st.one_of(*(addresses_in(net) for net in PUBLIC)))
def test_public_addresses_are_allowed(address: IPAddress) -> None:
    assert classify_address(address) is None


@settings(database=None)
@given(address=addresses_in("127.0.0.0/8"))
def test_ipv4_mapped_ipv6_loopback_is_still_loopback(address: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert classify_address(mapped) == "loopback"


def test_unspecified_addresses_are_refused() -> None:
    assert classify_address(ipaddress.ip_address("0.0.0.0")) == "unspecified"
    assert classify_address(ipaddress.ip_address("::")) == "unspecified"


def test_one_internal_address_among_public_ones_refuses_the_host() -> None:
    addresses = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.1.2.3")]
    assert classify(addresses) == "10.1.2.3 is private"
    assert classify(addresses[:1]) is None


def resolver(*addresses: str) -> Resolver:
    def resolve(host: str) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    return resolve


REFUSED = [
    ("file:///etc/passwd", resolver("8.8.8.8"), "file://"),
    ("ftp://example.com/a.mp4", resolver("8.8.8.8"), "ftp://"),
    ("http://example.com/a.mp4", resolver("8.8.8.8"), "https:// only"),
    ("https:///a.mp4", resolver("8.8.8.8"), "no host"),
    ("https://127.0.0.1/a.mp4", resolver(), "loopback"),
    ("https://[::1]:8443/a.mp4", resolver(), "loopback"),
    ("https://169.254.169.254/latest/meta-data", resolver(), "link-local"),
    ("https://intranet.example/a.mp4", resolver("192.168.1.20"), "private"),
    ("https://rebind.example/a.mp4", resolver("93.184.216.34", "127.0.0.1"), "loopback"),
]


@pytest.mark.parametrize(("url", "resolve", "reason"), REFUSED)
def test_unsafe_urls_are_refused_with_the_reason(url: str, resolve: Resolver, reason: str) -> None:
    with pytest.raises(UnsafeSource, match=reason):
        check_url(url, allow_private=False, resolve=resolve)


def test_a_public_https_url_passes() -> None:
    check_url("https://cdn.example/a.mp4?sig=1", allow_private=False, resolve=resolver("1.1.1.1"))


def test_allowing_private_sources_admits_loopback_http_but_never_file_urls() -> None:
    check_url("http://127.0.0.1:9000/a.mp4", allow_private=True, resolve=resolver())
    with pytest.raises(UnsafeSource):
        check_url("file:///tmp/a.mp4", allow_private=True, resolve=resolver())


def test_localhost_resolves_to_loopback_and_is_refused() -> None:
    with pytest.raises(UnsafeSource, match="localhost resolves to a non-public address"):
        check_url("https://localhost/a.mp4", allow_private=False)


def test_a_host_that_does_not_resolve_is_unreachable() -> None:
    with pytest.raises(UnreachableSource, match="does not resolve"):
        resolve_host("no-such-host.invalid")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://s3.example.com/bucket/key?X-Amz-Signature=x", ("https", "s3.example.com", 443)),
        ("http://MinIO.internal:9000/b/k", ("http", "minio.internal", 9000)),
        ("http://minio.internal/b/k", ("http", "minio.internal", 80)),
    ],
)
def test_an_origin_is_scheme_host_and_port_with_the_default_port_filled_in(
    url: str, expected: tuple[str, str, int]
) -> None:
    assert origin(url) == expected


def test_another_port_or_scheme_of_the_same_host_is_another_origin() -> None:
    endpoint = origin("http://minio.internal:9000")
    assert origin("http://minio.internal:9001/b/k") != endpoint
    assert origin("https://minio.internal:9000/b/k") != endpoint
