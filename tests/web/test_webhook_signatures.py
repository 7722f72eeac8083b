"""OpenRouter's webhook signatures: the verdict on a delivery (pure, a given ``now``)."""

from __future__ import annotations

from emulator.protocols.openrouter import signature as emulator_signature
from pipeline.webhooks import sign, verify

SECRET = "whsec_test"
BODY = b'{"id":"job-1","status":"completed"}'
NOW = 1_800_000_000.0


def test_a_delivery_signed_over_its_raw_body_is_taken() -> None:
    assert verify(SECRET, sign(SECRET, int(NOW), BODY), BODY, NOW).ok
    # The emulator signs the way the receiver checks.
    assert verify(SECRET, emulator_signature(SECRET, int(NOW) - 10, BODY), BODY, NOW).ok


def test_a_forged_or_altered_delivery_is_refused() -> None:
    assert not verify("another-secret", sign(SECRET, int(NOW), BODY), BODY, NOW).ok
    # The same JSON re-serialised is other bytes: the signature is over the raw body.
    spaced = b'{"id": "job-1", "status": "completed"}'
    assert verify(SECRET, sign(SECRET, int(NOW), BODY), spaced, NOW).reason == (
        "signature does not match the body"
    )
    for header in (None, "", "t=abc,v1=00", f"t={int(NOW)}", "v1=deadbeef"):
        assert not verify(SECRET, header, BODY, NOW).ok, header


def test_a_stale_or_future_timestamp_is_refused_even_when_signed() -> None:
    old = sign(SECRET, int(NOW) - 301, BODY)
    ahead = sign(SECRET, int(NOW) + 301, BODY)
    assert "outside the 300 s window" in verify(SECRET, old, BODY, NOW).reason
    assert not verify(SECRET, ahead, BODY, NOW).ok
    assert verify(SECRET, sign(SECRET, int(NOW) - 299, BODY), BODY, NOW).ok


def test_one_matching_signature_of_several_is_enough() -> None:
    good = sign(SECRET, int(NOW), BODY).rpartition("v1=")[2]
    assert verify(SECRET, f"t={int(NOW)},v1={'0' * 64},v1={good}", BODY, NOW).ok
