"""``splitinfer serve``: run the gRPC server that hosts the large model.

Options come from three places, later ones winning: the defaults of ``ServerConfig``, the
``[server]`` table of ``--config FILE``, and the flags given here. The one-model flags
(``--backend``, ``--model``, ``--openai-*``) are refused next to a ``[[models]]`` list in the file,
which describes every model itself. Stop it with SIGTERM (or Ctrl-C):
it reports NOT_SERVING, refuses new calls, lets calls in flight finish within ``--grace-seconds``
and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from splitinfer.cli._help import utf8
from splitinfer.sdk._errors import InvalidInputError

_EXAMPLES = """examples:
  splitinfer serve                                   # extractive stand-in model on 127.0.0.1:50051
  splitinfer serve --backend openai --openai-base-url http://localhost:8000/v1 \\
      --model meta-llama/Llama-3.1-8B-Instruct        # in front of vLLM
  splitinfer serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --auth-tokens tokens.txt
  splitinfer serve --config serve.toml               # several models (see docs/server.md)
"""

# Flag destinations that map one to one onto ServerConfig fields.
_FIELDS = (
    "host",
    "port",
    "backend",
    "model",
    "default_model",
    "openai_base_url",
    "openai_api_key_env",
    "auth_tokens_file",
    "tls_cert",
    "tls_key",
    "metrics_port",
    "metrics_host",
    "max_concurrent",
    "max_queued",
    "grace_seconds",
    "max_request_bytes",
    "default_max_new_tokens",
    "condenser_path",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="Run the gRPC server that hosts the large model.",
        description=__doc__,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_argument_group("where to listen")
    where.add_argument("--host", type=utf8, help="address to listen on (default 127.0.0.1)")
    where.add_argument("--port", type=int, help="port to listen on; 0 picks a free one (default 50051)")
    where.add_argument("--tls-cert", metavar="PEM", help="PEM certificate chain; with --tls-key, serve TLS")
    where.add_argument("--tls-key", metavar="PEM", help="PEM private key for --tls-cert")
    where.add_argument(
        "--insecure",
        action="store_true",
        help="allow plaintext on a non-loopback address (a TLS proxy in front)",
    )
    where.add_argument(
        "--auth-tokens", dest="auth_tokens_file", metavar="FILE", help="file of bearer tokens, one per line"
    )

    models = parser.add_argument_group("models")
    models.add_argument(
        "--backend",
        metavar="KIND",
        help="extractive (default, offline stand-in), openai, or echo (a test stand-in)",
    )
    models.add_argument(
        "--model", metavar="NAME", help="model name; for --backend openai, the upstream's model id"
    )
    models.add_argument(
        "--default-model", metavar="NAME", help="model used when a request names none (with --config)"
    )
    models.add_argument(
        "--openai-base-url", metavar="URL", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1"
    )
    models.add_argument(
        "--openai-api-key-env", metavar="VAR", help="environment variable holding the upstream's API key"
    )
    models.add_argument(
        "--config", metavar="FILE", help="TOML or JSON file listing models and server options"
    )
    models.add_argument(
        "--condenser",
        dest="condenser_path",
        metavar="BUNDLE",
        help="condenser bundle for Condense (default: the SDK's); one named here must be a readable bundle (else exit 2)",
    )

    limits = parser.add_argument_group("limits and operations")
    limits.add_argument("--max-concurrent", type=int, help="requests running at once (default 64)")
    limits.add_argument(
        "--max-queued", type=int, help="requests waiting for a slot before refusing (default 256)"
    )
    limits.add_argument(
        "--grace-seconds", type=float, help="on SIGTERM, time for calls in flight (default 10)"
    )
    limits.add_argument("--max-request-bytes", type=int, help="largest request message (default 4 MiB)")
    limits.add_argument("--default-max-new-tokens", type=int, help="when a request leaves it 0 (default 256)")
    limits.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    limits.add_argument(
        "--metrics-host", type=utf8, help="address for the metrics endpoint (default: --host)"
    )
    limits.add_argument("--log-level", default="INFO", help="DEBUG, INFO (one line per request), WARNING")
    parser.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> Any:
    """The ``ServerConfig`` for these flags, merged over ``--config``."""
    from splitinfer.server import ServerConfig, load_config_file

    kwargs: dict[str, Any] = load_config_file(args.config) if args.config else {}
    for name in _FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            kwargs[name] = value
    if args.insecure:
        kwargs["insecure"] = True
    try:
        return ServerConfig(**kwargs)
    except TypeError as err:
        raise InvalidInputError(f"bad server option: {err}") from err


def run(args: argparse.Namespace) -> int:
    level = getattr(logging, str(args.log_level).upper(), None)
    if not isinstance(level, int):
        raise InvalidInputError(f"--log-level must be DEBUG, INFO, WARNING or ERROR, got {args.log_level!r}")
    from splitinfer.server import serve
    from splitinfer.server.observe import configure_logging

    configure_logging(level, sys.stderr)
    config = build_config(args)
    if config.condenser_path is not None:
        # A bundle the operator named must be one now, not fail every Condense call later.
        from splitinfer.sdk._bundle import read_bundle

        read_bundle(config.condenser_path)
    return serve(config)
