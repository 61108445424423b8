"""The README's "Use it in an app" example runs as written, against a real server with auth on."""

from __future__ import annotations

import re
from pathlib import Path

from splitinfer.server import BackgroundServer, ServerConfig

README = Path(__file__).resolve().parent.parent / "README.md"
CONTEXT = (
    " ".join(
        f"Report {i}: the Harrow Street footbridge was inspected by the council's engineers."
        for i in range(40)
    )
    + " After a final load test the Harrow Street footbridge reopened on 14 April 2019."
)


def app_example() -> str:
    section = README.read_text(encoding="utf-8").split("## Use it in an app", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the README's 'Use it in an app' section has no python example"
    return found.group(1)


def test_the_readme_app_example_runs_against_a_real_server(tmp_path: Path, capsys) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("readme-token\n")
    code = app_example()
    assert '"api.example.com:443"' in code
    config = ServerConfig(port=0, backend="echo", auth_tokens_file=tokens, log_requests=False)
    with BackgroundServer(config) as server:
        code = code.replace('"api.example.com:443"', repr(server.address))
        scope = {"long_text": CONTEXT, "token": "readme-token"}
        exec(compile(code, "README.md (Use it in an app)", "exec"), scope)
    printed = capsys.readouterr().out.splitlines()
    result = scope["result"]
    assert printed[0] == f"{result.text} {result.original_tokens} {result.condensed_tokens} {result.ms}"
    assert "Harrow" in result.text and "2019." in result.text  # forced, and a number
    assert result.condensed_tokens < result.original_tokens
    stream = scope["stream"]
    assert stream.result.where.name == "DEVICE" and "When did the footbridge reopen?" in printed[1]
    assert printed[2] == stream.result.savings.summary() and "condensed on the device" in printed[2]
