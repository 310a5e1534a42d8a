"""Server addresses: the strict syntax of the ``Address`` argument and the refused kinds (hole 7)."""

from __future__ import annotations

import ipaddress

import pytest

from bot.addresses import STRICT, AddressPolicy, parse_address
from bot.argtypes import Address
from bot.errors import UserError


@pytest.mark.parametrize("raw", [
    "fe80::1%$(id);{{lookup('pipe','id')}}", "fe80::1%eth0", "10.0.0.5%1", "x" * 254, "a." * 126 + "com",
    "x" * 100_000, "a..b", "-web.example.org", "web-.example.org", "web_01", "web 01", "", ".", "example.org.",
    "2130706433", "0x7f.1", "127.1", "0x7f000001", "1.2.3.04", "web.01", "wéb.example.org", "{{x}}", "$(id)",
])
def test_hole7_malformed_addresses_are_refused(raw: str) -> None:
    assert parse_address(raw) is None
    with pytest.raises(UserError):
        Address().convert(raw, "address")


@pytest.mark.parametrize(("raw", "canonical"), [
    ("10.0.0.5", "10.0.0.5"), ("2001:0DB8::0001", "2001:db8::1"), ("Web-01.Example.ORG", "web-01.example.org"),
    ("db", "db"), ("a" * 63 + ".example.org", "a" * 63 + ".example.org"),
    (".".join(["a" * 62] * 4)[:249] + ".org", ".".join(["a" * 62] * 4)[:249] + ".org"),
])
def test_well_formed_addresses_are_kept_in_canonical_form(raw: str, canonical: str) -> None:
    assert Address().convert(raw, "address") == canonical


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"), ("localhost", "loopback"),
    ("api.localhost", "loopback"), ("169.254.169.254", "cloud metadata"), ("fd00:ec2::254", "cloud metadata"),
    ("169.254.10.1", "link-local"), ("fe80::1", "link-local"), ("febf::1", "link-local"),
    ("::ffff:7f00:1", "loopback"), ("::ffff:a9fe:a9fe", "cloud metadata"), ("::ffff:a9fe:101", "link-local"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"), ("2002:7f00:1::", "loopback"), ("::7f00:1", "loopback"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("255.255.255.255", "reserved"), ("metadata.google.internal", "cloud metadata"),
])
def test_hole7_loopback_link_local_and_metadata_addresses_are_refused(address: str, kind: str) -> None:
    assert STRICT.refusal(address) == kind


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.20", "::ffff:a00:5", "2001:db8::1", "fd12:3456::1",
                                     "web-01.example.org", "db"])
def test_ordinary_server_addresses_are_accepted(address: str) -> None:
    assert STRICT.refusal(address) is None


def test_the_settings_file_can_allow_refused_addresses() -> None:
    policy = AddressPolicy((ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("fe80::/64")),
                           frozenset({"localhost"}))
    for allowed in ("127.0.0.1", "::ffff:7f00:1", "fe80::1", "localhost"):
        assert policy.refusal(allowed) is None
    assert policy.refusal("169.254.169.254") == "cloud metadata"
    assert policy.refusal("::1") == "loopback"
