"""``--max-connection-age``: connections are asked to reconnect (GOAWAY) after an age, and users
never notice. Real servers on loopback, the SDK's own clients, a proxy that counts connections."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from cli_support import exit_code
from server_support import NetworkProxy, wait_until

from splitinfer.cli.main import build_parser
from splitinfer.cli.serve import build_config
from splitinfer.sdk import AnswerInterruptedError, AsyncClient, Client, InvalidInputError
from splitinfer.server import BackgroundServer, ModelConfig, ServerConfig, load_config_file

# A slow model whose answer (200 words, 10 ms apart) outlives several ages of 0.3 s.
SLOW = ModelConfig("echo", {"name": "slow", "chunk_delay_ms": 10, "repeat": 50})
FAST = ModelConfig("echo", {"name": "echo"})
LONG_ANSWER = ["w1", "w2", "w3", "w4"] * 50


def aging_server(age_s: float, grace_s: float = 30.0) -> BackgroundServer:
    config = ServerConfig(
        port=0, models=(FAST, SLOW), max_connection_age=age_s, max_connection_age_grace=grace_s
    )
    return BackgroundServer(config)


def connections(network: NetworkProxy) -> int:
    """How many connections clients opened through ``network`` (it keeps both ends of each)."""
    return len(network._sockets) // 2


def request_codes(srv: BackgroundServer) -> Counter[tuple[str, str]]:
    """``splitinfer_requests_total`` by (method, code), all models together."""
    assert srv.server is not None
    codes: Counter[tuple[str, str]] = Counter()
    for metric in srv.server.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == "splitinfer_requests_total":
                codes[sample.labels["method"], sample.labels["code"]] += int(sample.value)
    return codes


def settled_codes(srv: BackgroundServer, calls: int) -> Counter[tuple[str, str]]:
    """``request_codes`` once the server has counted ``calls`` calls: a client has its answer a
    moment before the server's handler returns and counts it."""
    wait_until(lambda: sum(request_codes(srv).values()) >= calls, what=f"the server to count {calls} calls")
    return request_codes(srv)


def logged_codes(caplog: pytest.LogCaptureFixture) -> Counter[str]:
    return Counter(
        json.loads(line)["code"]
        for record in caplog.records
        if record.name == "splitinfer.server.requests"
        for line in record.getMessage().splitlines()
    )


def test_a_stream_open_when_its_connection_ages_out_finishes_whole() -> None:
    with (
        aging_server(age_s=0.3) as srv,
        NetworkProxy(srv.address) as network,
        Client(network.address, condenser=None) as client,
    ):
        stream = client.generate("w1 w2 w3 w4", model="slow", policy="no_condense")
        words = [next(stream)]
        time.sleep(0.6)  # past the age (+10% jitter at most): the GOAWAY has been sent
        # A call now goes over a new connection; the stream goes on over the old one.
        assert client.generate("a b", policy="no_condense").collect().text.split() == ["a", "b"]
        words += list(stream)
    assert "".join(words).split() == LONG_ANSWER
    assert stream.result.usage.completion_tokens == len(LONG_ANSWER)
    assert connections(network) >= 2


def test_calls_made_while_connections_age_out_all_succeed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "splitinfer.server.requests")
    failures: list[BaseException] = []
    answered = Counter[str]()

    def caller(client: Client, model: str, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                result = client.generate("w1 w2 w3 w4", model=model, policy="no_condense").collect()
            except Exception as err:
                failures.append(err)
            else:
                assert result.text.split() == (LONG_ANSWER if model == "slow" else LONG_ANSWER[:4])
                answered[model] += 1

    with aging_server(age_s=0.3) as srv, NetworkProxy(srv.address) as network:
        with Client(network.address, condenser=None) as client:
            callers = [threading.Thread(target=caller, args=(client, "echo", 2.5)) for _ in range(4)]
            callers.append(threading.Thread(target=caller, args=(client, "slow", 2.5)))
            for thread in callers:
                thread.start()
            for thread in callers:
                thread.join()
        codes = settled_codes(srv, sum(answered.values()))
    assert failures == []
    assert answered["echo"] > 100 and answered["slow"] >= 1
    assert connections(network) >= 5  # an age of 0.3 s in 2.5 s: several GOAWAYs were crossed
    # The server counts and logs every call as OK: a GOAWAY is no error.
    assert codes == Counter({("Generate", "OK"): sum(answered.values())})
    assert logged_codes(caplog) == Counter({"OK": sum(answered.values())})


def test_async_calls_made_while_connections_age_out_all_succeed() -> None:
    failures: list[BaseException] = []
    answered = Counter[str]()

    async def caller(client: AsyncClient, model: str, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                stream = await client.generate("w1 w2 w3 w4", model=model, policy="no_condense")
                result = await stream.collect()
            except Exception as err:
                failures.append(err)
            else:
                assert result.text.split() == (LONG_ANSWER if model == "slow" else LONG_ANSWER[:4])
                answered[model] += 1

    async def run(address: str) -> None:
        async with AsyncClient(address, condenser=None) as client:
            await asyncio.gather(
                *(caller(client, "echo", 2.5) for _ in range(4)), caller(client, "slow", 2.5)
            )

    with aging_server(age_s=0.3) as srv, NetworkProxy(srv.address) as network:
        asyncio.run(run(network.address))
        codes = settled_codes(srv, sum(answered.values()))
    assert failures == []
    assert answered["echo"] > 100 and answered["slow"] >= 1
    assert connections(network) >= 5
    assert codes == Counter({("Generate", "OK"): sum(answered.values())})


def test_a_stream_that_outlives_the_grace_is_cut_off() -> None:
    with aging_server(age_s=0.3, grace_s=0.3) as srv, Client(srv.address, condenser=None) as client:
        stream = client.generate("w1 w2 w3 w4", model="slow", policy="no_condense")
        with pytest.raises(AnswerInterruptedError, match="max connection age"):
            list(stream)


def test_without_a_grace_a_stream_runs_to_its_end_past_many_ages() -> None:
    # The default: no grace option, so the 2-second answer outlives six ages of 0.3 s whole.
    config = ServerConfig(port=0, models=(FAST, SLOW), max_connection_age=0.3)
    with BackgroundServer(config) as srv, Client(srv.address, condenser=None) as client:
        stream = client.generate("w1 w2 w3 w4", model="slow", policy="no_condense")
        assert "".join(stream).split() == LONG_ANSWER


def test_an_age_of_zero_keeps_connections_for_ever() -> None:
    with (
        aging_server(age_s=0) as srv,
        NetworkProxy(srv.address) as network,
        Client(network.address, condenser=None) as client,
    ):
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            client.generate("a b", policy="no_condense").collect()
    assert connections(network) == 1


@pytest.mark.parametrize("age", [-1.0, float("inf"), float("nan"), 3_000_000.0])
def test_an_age_grpc_cannot_take_is_refused_naming_the_flag(age: float) -> None:
    with pytest.raises(InvalidInputError, match="--max-connection-age must be a number of seconds"):
        ServerConfig(port=0, max_connection_age=age).check()
    with pytest.raises(InvalidInputError, match="--max-connection-age-grace must be"):
        ServerConfig(port=0, max_connection_age_grace=age).check()


def test_the_config_file_sets_the_age(tmp_path: Path) -> None:
    path = tmp_path / "serve.json"
    path.write_text(json.dumps({"server": {"max_connection_age": 600, "max_connection_age_grace": 90.5}}))
    config = ServerConfig(**load_config_file(path))
    assert (config.max_connection_age, config.max_connection_age_grace) == (600, 90.5)
    assert (ServerConfig().max_connection_age, ServerConfig().max_connection_age_grace) == (300, None)


def test_serve_help_explains_the_age_and_sighup(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["serve", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--max-connection-age SECONDS ask each client to reconnect (GOAWAY)" in text
    assert "--max-connection-age-grace SECONDS" in text
    assert "SIGHUP re-reads --auth-tokens and --tls-cert/--tls-key without a restart" in text


def test_serve_flags_set_the_age() -> None:
    args = ["serve", "--max-connection-age", "60", "--max-connection-age-grace", "0"]
    parsed = build_parser().parse_args(args)
    config = build_config(parsed)
    assert (config.max_connection_age, config.max_connection_age_grace) == (60, 0)
