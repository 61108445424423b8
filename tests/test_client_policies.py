"""Each condensation policy, and each fallback, against a real server: the result says what happened."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitinfer.sdk import Client, Condenser, CondenserUnavailableError, InvalidInputError, Policy, Where

pytest_plugins = ["sdk_bundles"]

DOCS = " ".join(f"Section {i} covers the paint, the trees and the old road by the river." for i in range(50))
QUESTION = "Which road is old?"
BROKEN = Path("no-such-dir") / "missing.tflite"


def ask(address: str, condenser: object, policy: Policy, **kwargs: object):
    with Client(address, condenser=condenser, policy=policy, timeout=20) as client:
        return client.generate(QUESTION, context=DOCS, model="echo", max_new_tokens=5000, **kwargs).collect()


def test_prefer_device_condenses_on_the_device_when_the_bundle_loads(
    echo_server, condenser: Condenser
) -> None:
    result = ask(echo_server.address, condenser, Policy.PREFER_DEVICE_CONDENSE, rate=0.3)
    assert result.where is Where.DEVICE and result.fallback_reason is None
    assert result.savings.sent_tokens < 0.5 * result.savings.original_tokens


def test_prefer_device_falls_back_to_the_server_when_the_bundle_cannot_load(echo_server) -> None:
    result = ask(echo_server.address, BROKEN, Policy.PREFER_DEVICE_CONDENSE, rate=0.3)
    assert result.where is Where.SERVER
    assert "missing.tflite" in result.fallback_reason and "cannot load" in result.fallback_reason
    savings = result.savings
    assert savings.sent_tokens < 0.5 * savings.original_tokens
    assert savings.device_ms == 0 and savings.server_condense_ms > 0
    # The full context went up for Condense: condensing on the server saves model tokens, not upload bytes.
    assert savings.bytes_saved < 0
    assert result.text.split() == (result.condensed_context + " " + QUESTION).split()


def test_prefer_device_sends_uncondensed_and_says_why_when_neither_side_can_condense(
    echo_server_without_condenser,
) -> None:
    result = ask(echo_server_without_condenser.address, BROKEN, Policy.PREFER_DEVICE_CONDENSE)
    assert result.where is Where.NOWHERE
    assert "cannot load" in result.fallback_reason
    assert "the server cannot condense either" in result.fallback_reason
    assert result.condensed_context == DOCS
    assert result.text.split() == (DOCS + " " + QUESTION).split()


def test_only_device_refuses_to_send_the_full_context_when_the_bundle_cannot_load(echo_server) -> None:
    from sdk_bundles import echo_backend

    before = len(echo_backend(echo_server, "echo").runs)
    with pytest.raises(CondenserUnavailableError, match="ONLY_DEVICE_CONDENSE never sends the full context"):
        ask(echo_server.address, BROKEN, Policy.ONLY_DEVICE_CONDENSE)
    assert len(echo_backend(echo_server, "echo").runs) == before


def test_only_device_condenses_on_the_device(echo_server, condenser: Condenser) -> None:
    result = ask(echo_server.address, condenser, Policy.ONLY_DEVICE_CONDENSE, target_tokens=100)
    assert result.where is Where.DEVICE
    assert result.savings.sent_tokens <= 100


def test_server_condense_uses_the_server_even_with_a_device_bundle(echo_server, condenser: Condenser) -> None:
    result = ask(echo_server.address, condenser, Policy.SERVER_CONDENSE, rate=0.3)
    assert result.where is Where.SERVER and result.fallback_reason is None
    device = condenser.condense(DOCS, QUESTION, rate=0.3)
    assert result.condensed_context == device.text  # the same bundle on both sides


def test_server_condense_fails_clearly_when_the_server_has_no_condenser(
    echo_server_without_condenser,
) -> None:
    with pytest.raises(CondenserUnavailableError, match=r"server cannot condense.*missing\.tflite"):
        ask(echo_server_without_condenser.address, None, Policy.SERVER_CONDENSE)


def test_no_condense_sends_the_context_as_it_is(echo_server, condenser: Condenser) -> None:
    result = ask(echo_server.address, condenser, Policy.NO_CONDENSE)
    assert result.where is Where.NOWHERE and result.fallback_reason is None
    assert result.condensed_context == DOCS
    assert result.savings.bytes_saved == 0 and result.savings.tokens_saved == 0


def test_a_policy_can_be_chosen_per_call_and_by_short_name(echo_server, condenser: Condenser) -> None:
    with Client(echo_server.address, condenser=condenser, policy="none", timeout=20) as client:
        result = client.generate(QUESTION, context=DOCS, model="echo", policy="prefer-device").collect()
    assert result.where is Where.DEVICE


def test_an_unknown_policy_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidInputError, match="prefer-device, only-device, server, none"):
        Client("127.0.0.1:1", policy="cloud-only")


def test_the_savings_line_says_why_more_bytes_went_up_where_the_context_was_condensed() -> None:
    from splitinfer.sdk._policy import Savings

    device = Savings(Where.DEVICE, 5, 2, original_bytes=38, sent_bytes=58, device_ms=4.7)
    line = device.summary()
    assert "20 bytes more uploaded, the condensation report outweighs what was cut" in line
    assert "full context" not in line  # the full context never left the device
    server = Savings(
        Where.SERVER, 5, 2, original_bytes=101, sent_bytes=178, device_ms=0.0, server_condense_ms=3.0
    )
    assert "77 bytes more uploaded, the full context included); condensed on the server" in server.summary()
