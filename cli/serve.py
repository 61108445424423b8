"""``splitinfer serve``: run the gRPC server that hosts the large model.

Options come from three places, later ones winning: the defaults shown below, the ``[server]``
table of ``--config FILE`` (its keys are the options' names with underscores, e.g.
``max_concurrent``, but for ``auth_tokens_file``, ``condenser_path`` and ``log_requests = false``;
``--log-level`` is a flag only; relative paths in it are relative to the file), and the flags
given here.
The one-model flags (``--backend``, ``--model``, ``--openai-*``) are refused next to a
``[[models]]`` list in the file, which describes every model itself. Health says NOT_SERVING until
the models have loaded (the extractive one takes a few seconds; a log line says when it is ready).
Stop it with SIGTERM (or Ctrl-C): it reports NOT_SERVING, refuses new calls, lets calls in flight
finish within ``--grace-seconds`` and exits 0; a second SIGTERM or Ctrl-C cancels the calls still
running and ends it now.

SIGHUP re-reads ``--auth-tokens`` and ``--tls-cert``/``--tls-key`` without a restart: new calls
need a token of the new file, new connections get the new certificate; calls in flight and
connections open are left alone. A file now missing or invalid is not used: the server keeps what
it had and logs why. SIGHUP never stops the server.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from splitinfer.cli._help import plain, utf8
from splitinfer.sdk._errors import InvalidInputError

_EXAMPLES = """examples:
  splitinfer serve                                   # extractive stand-in model on 127.0.0.1:50051
  splitinfer serve --backend openai --openai-base-url http://localhost:8000/v1 \\
      --model meta-llama/Llama-3.1-8B-Instruct        # in front of vLLM
  splitinfer serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --auth-tokens tokens.txt
  splitinfer serve --config serve.toml               # several models (see docs/server.md)

signals:
  SIGTERM, SIGINT  drain (see --grace-seconds), then exit 0; a second one during the drain ends it
                   now: the calls still running are cancelled (exit 128 + the signal's number)
  SIGHUP           re-read --auth-tokens and the TLS pair; keep the old ones if the new are invalid

exit codes:
  0  stopped by SIGTERM or SIGINT, after draining
  1  could not start (a port in use or needing privileges)
  2  bad configuration: a flag, the config file, a TLS, token or condenser file
  3  an internal error, a bug in splitinfer (the traceback is printed)
  130  interrupted (Ctrl-C) before it was serving, or a second SIGINT cut the drain short
  143  a second SIGTERM cut the drain short
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
    "openai_ca_file",
    "auth_tokens_file",
    "tls_cert",
    "tls_key",
    "metrics_port",
    "metrics_host",
    "max_concurrent",
    "max_queued",
    "grace_seconds",
    "max_connection_age",
    "max_connection_age_grace",
    "max_request_bytes",
    "default_max_new_tokens",
    "max_condense_words",
    "condenser_path",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="Run the gRPC server that hosts the large model.",
        description=plain(__doc__),
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_argument_group("where to listen")
    where.add_argument(
        "--host",
        type=utf8,
        metavar="ADDRESS",
        help="address to listen on; one that is not loopback needs TLS or --insecure (default 127.0.0.1)",
    )
    where.add_argument(
        "--port", type=int, metavar="PORT", help="port to listen on; 0 picks a free one (default 50051)"
    )
    where.add_argument(
        "--tls-cert",
        metavar="PEM",
        help="PEM certificate chain; with --tls-key, serve TLS (default: plaintext)",
    )
    where.add_argument(
        "--tls-key", metavar="PEM", help="unencrypted PEM private key of --tls-cert (default: none)"
    )
    where.add_argument(
        "--insecure",
        action="store_true",
        help="allow plaintext on a non-loopback address (a TLS proxy in front; default: refused)",
    )
    where.add_argument(
        "--auth-tokens",
        dest="auth_tokens_file",
        metavar="FILE",
        help="file of bearer tokens, one per line, that clients must send (default: no auth)",
    )

    models = parser.add_argument_group("models")
    models.add_argument(
        "--backend",
        metavar="KIND",
        help="extractive (the default, an offline stand-in), openai, or echo (a test stand-in)",
    )
    models.add_argument(
        "--model",
        metavar="NAME",
        help="model name clients use (default: the backend's, extractive or echo); for --backend openai, "
        "the upstream's model id (required)",
    )
    models.add_argument(
        "--default-model",
        metavar="NAME",
        help="model used when a request names none (default: the first model of --config)",
    )
    models.add_argument(
        "--openai-base-url",
        metavar="URL",
        help="for --backend openai (required): OpenAI-compatible endpoint, e.g. http://localhost:8000/v1",
    )
    models.add_argument(
        "--openai-api-key-env",
        metavar="VAR",
        help="for --backend openai: environment variable holding the upstream's API key (default: no key)",
    )
    models.add_argument(
        "--openai-ca-file",
        metavar="PEM",
        help="for --backend openai with an https URL: CA certificate(s) to trust for the engine's "
        "certificate, instead of the system's (default: the system's)",
    )
    models.add_argument(
        "--config",
        metavar="FILE",
        help="TOML or JSON file of [[models]] and [server] options; flags win over it (default: none)",
    )
    models.add_argument(
        "--condenser",
        dest="condenser_path",
        metavar="BUNDLE",
        help="condenser bundle for Condense (default: the SDK's); one named here must be a readable bundle (else exit 2)",
    )

    limits = parser.add_argument_group("limits and operations")
    limits.add_argument(
        "--max-concurrent",
        type=int,
        metavar="N",
        help="requests running at once, over all models (default 64); the extractive model also runs "
        "at most one call per CPU core (its max_concurrent in a [[models]] table), as more would only "
        "make every call slower, and queues the rest",
    )
    limits.add_argument(
        "--max-queued",
        type=int,
        metavar="N",
        help="requests waiting for a slot before refusing with RESOURCE_EXHAUSTED (default 256)",
    )
    limits.add_argument(
        "--grace-seconds",
        type=float,
        metavar="SECONDS",
        help="on SIGTERM or SIGINT, time for calls in flight to finish (default 10)",
    )
    limits.add_argument(
        "--max-connection-age",
        type=float,
        metavar="SECONDS",
        help="ask each client to reconnect (GOAWAY) after this long, +/-10%%, so that clients spread "
        "over replicas added since; calls open then finish first; 0: never (default 300)",
    )
    limits.add_argument(
        "--max-connection-age-grace",
        type=float,
        metavar="SECONDS",
        help="how long calls open at --max-connection-age may still run before their connection "
        "is closed under them (default: no limit, every call runs to its end; 0 cuts them at once)",
    )
    limits.add_argument(
        "--max-request-bytes",
        type=int,
        metavar="BYTES",
        help="largest request message, at most 2147483647 (default 4194304, 4 MiB)",
    )
    limits.add_argument(
        "--max-condense-words",
        type=int,
        metavar="N",
        help="longest context one Condense call may send, in words (default 20000)",
    )
    limits.add_argument(
        "--default-max-new-tokens",
        type=int,
        metavar="N",
        help="max_new_tokens of a request that leaves it 0, capped by the model's (default 256)",
    )
    limits.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on this port; 0 picks a free one (default: no metrics endpoint)",
    )
    limits.add_argument(
        "--metrics-host",
        type=utf8,
        metavar="ADDRESS",
        help="address of the metrics endpoint, with --metrics-port (default: --host)",
    )
    limits.add_argument(
        "--no-log-requests",
        action="store_true",
        help="no JSON line per call (the file's log_requests = false; default: one per call at INFO)",
    )
    limits.add_argument(
        "--log-level",
        default="INFO",
        metavar="LEVEL",
        help="DEBUG, INFO (adds one JSON line per request), WARNING or ERROR (default INFO)",
    )
    parser.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> Any:
    """The ``ServerConfig`` for these flags, merged over ``--config``."""
    from splitinfer.server import ServerConfig, load_config_file

    if args.config == "":
        raise InvalidInputError("--config is empty; give the path of a TOML or JSON file, or leave it out")
    kwargs: dict[str, Any] = load_config_file(args.config) if args.config is not None else {}
    for name in _FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            kwargs[name] = value
    if args.insecure:
        kwargs["insecure"] = True
    if getattr(args, "no_log_requests", False):
        kwargs["log_requests"] = False
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
