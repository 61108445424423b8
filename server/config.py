"""The server's options as one typed object, and the config file that lists models.

``ServerConfig`` holds every option of ``splitinfer serve``; the command and
:class:`~splitinfer.server.BackgroundServer` both take one. Models come either from ``backend``/
``model``/``openai_*`` (one model, the common case) or from ``models`` (several at once), typically
read from a config file by :func:`load_config_file`, never from both: the server refuses the mix
rather than silently ignore one of them::

    # serve.toml (TOML, or the same structure as JSON)
    default_model = "llama-8b"

    [server]                      # optional: any ServerConfig field; command-line flags win
    max_concurrent = 128

    [[models]]
    backend = "openai"
    name = "llama-8b"            # what clients put in GenerateRequest.model
    base_url = "http://vllm:8000/v1"
    model = "meta-llama/Llama-3.1-8B-Instruct"
    api_key_env = "VLLM_API_KEY"

    [[models]]
    backend = "extractive"       # the embedded offline stand-in, next to the real model
"""

from __future__ import annotations

import codecs
import dataclasses
import ipaddress
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splitinfer.sdk._errors import InvalidInputError

MiB = 1024 * 1024
# gRPC's message size options are C ints, and GetInfoResponse.max_request_bytes a uint32.
MAX_REQUEST_BYTES = 2**31 - 1
# The options that describe the one model served without a ``models`` list, and their flags.
_ONE_MODEL_FLAGS = {
    "backend": "--backend",
    "model": "--model",
    "openai_base_url": "--openai-base-url",
    "openai_api_key_env": "--openai-api-key-env",
    "openai_ca_file": "--openai-ca-file",
}
# Options that must not be empty when given, and their flags: an empty host, name or path (often
# an unset shell variable, as in --model "$MODEL") would otherwise be ignored or misread.
_NON_EMPTY_FLAGS = {
    "host": "--host",
    "metrics_host": "--metrics-host",
    **_ONE_MODEL_FLAGS,
    "default_model": "--default-model",
}
# gRPC takes connection ages as a C int of milliseconds: at most about 24.8 days.
MAX_CONNECTION_AGE_S = (2**31 - 1) // 1000
# [server] keys that name files; relative paths in a config file are relative to the file's folder.
_PATH_KEYS = ("auth_tokens_file", "tls_cert", "tls_key", "condenser_path", "openai_ca_file")
# [[models]] options that name files, relative to the config file's folder too.
_MODEL_PATH_KEYS = ("ca_file",)
_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


@dataclass(frozen=True)
class ModelConfig:
    """One model to serve: a backend kind (see ``splitinfer.server.backends.BACKENDS``) and its options."""

    backend: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``splitinfer serve`` can be told. Defaults suit one machine on loopback.

    ``port=0`` binds a free port (read it back from ``BackgroundServer.port``). Plaintext on a
    non-loopback ``host`` needs ``insecure=True``. ``max_concurrent`` requests run at once and
    ``max_queued`` more wait; beyond that, requests are refused at once with RESOURCE_EXHAUSTED.
    ``grace_seconds`` is how long a SIGTERM waits for in-flight requests. ``max_connection_age``
    (seconds, 0: never) is how long a client's connection may live before the server asks it to
    reconnect (gRPC's GOAWAY; gRPC adds +/-10% jitter per connection), so that clients spread over
    replicas added since they connected; calls open on it then finish on it, however long they
    take, or within ``max_connection_age_grace`` seconds when that is set (after which the
    connection is closed under them). ``backend`` (``None``:
    ``"extractive"``), ``model`` and ``openai_*`` describe the one model served when ``models`` is
    empty; giving them together with ``models`` is refused by :meth:`check`.
    """

    host: str = "127.0.0.1"
    port: int = 50051
    backend: str | None = None
    model: str | None = None
    models: tuple[ModelConfig, ...] = ()
    default_model: str | None = None
    openai_base_url: str | None = None
    openai_api_key_env: str | None = None
    openai_ca_file: str | Path | None = None
    auth_tokens_file: str | Path | None = None
    tls_cert: str | Path | None = None
    tls_key: str | Path | None = None
    insecure: bool = False
    max_concurrent: int = 64
    max_queued: int = 256
    metrics_port: int | None = None
    metrics_host: str | None = None
    grace_seconds: float = 10.0
    max_connection_age: float = 300.0
    max_connection_age_grace: float | None = None
    max_request_bytes: int = 4 * MiB
    default_max_new_tokens: int = 256
    condenser_path: str | Path | None = None
    max_condense_words: int = 20_000
    log_requests: bool = True

    def model_configs(self) -> tuple[ModelConfig, ...]:
        """The models to serve: ``models`` if given, else one built from ``backend``/``model``."""
        if self.models:
            return self.models
        backend = self.backend or "extractive"
        options: dict[str, Any] = {}
        if backend == "openai":
            options = {"base_url": self.openai_base_url, "model": self.model}
            if self.openai_api_key_env:
                options["api_key_env"] = self.openai_api_key_env
            if self.openai_ca_file:
                options["ca_file"] = str(self.openai_ca_file)
        elif self.model:
            options = {"name": self.model}
        return (ModelConfig(backend, options),)

    def check(self) -> None:
        """Raises ``InvalidInputError`` naming the option to fix, before anything is started."""
        for name, flag in _NON_EMPTY_FLAGS.items():
            if getattr(self, name) == "":
                raise InvalidInputError(f"{flag} is empty; give it a value or leave it out")
        if not 0 <= self.port <= 65535:
            raise InvalidInputError(f"--port must be in 0..65535 (0 = any free port), got {self.port}")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise InvalidInputError(f"--metrics-port must be in 0..65535, got {self.metrics_port}")
        if self.metrics_host is not None and self.metrics_port is None:
            raise InvalidInputError(
                "--metrics-host does nothing without --metrics-port; add --metrics-port PORT or drop --metrics-host"
            )
        if self.metrics_port and self.metrics_port == self.port and self.metrics_host in (None, self.host):
            raise InvalidInputError(
                f"--metrics-port {self.metrics_port} is also the gRPC --port; the metrics endpoint needs a "
                "port of its own: choose another --metrics-port"
            )
        for name in ("max_concurrent", "max_request_bytes", "default_max_new_tokens", "max_condense_words"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name, label in (
            ("max_request_bytes", "--max-request-bytes"),
            ("max_condense_words", "--max-condense-words"),
        ):
            if getattr(self, name) > MAX_REQUEST_BYTES:
                raise InvalidInputError(
                    f"{label} must be at most {MAX_REQUEST_BYTES} (2 GiB - 1, the most gRPC and "
                    f"GetInfo can carry), got {getattr(self, name)}"
                )
        if self.max_queued < 0:
            raise InvalidInputError(f"max_queued must be >= 0, got {self.max_queued}")
        if not math.isfinite(self.grace_seconds) or self.grace_seconds < 0:
            raise InvalidInputError(f"--grace-seconds must be a number >= 0, got {self.grace_seconds}")
        check_connection_age("max_connection_age", self.max_connection_age)
        if self.max_connection_age_grace is not None:
            check_connection_age("max_connection_age_grace", self.max_connection_age_grace)
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidInputError("TLS needs both --tls-cert and --tls-key (PEM files), or neither")
        if self.tls_cert is None and not self.insecure and not is_loopback(self.host):
            raise InvalidInputError(
                f"refusing to listen without TLS on {self.host}, which is not a loopback address: "
                "pass --tls-cert and --tls-key, or --insecure if a proxy in front terminates TLS"
            )
        given = [flag for name, flag in _ONE_MODEL_FLAGS.items() if getattr(self, name) is not None]
        if self.models and given:
            flags = ", ".join(given)
            raise InvalidInputError(
                f"{flags} describe{'s' if len(given) == 1 else ''} a single model and cannot be combined "
                "with the [[models]] list of --config; set backend, model, base_url, api_key_env and ca_file "
                f"in the file's [[models]] tables instead, and drop {flags} from the command line "
                "(or from the file's [server] table)"
            )
        for i, model in enumerate(self.models):
            if model.options.get("name") == "":
                raise InvalidInputError(
                    f"models[{i}] has an empty name, which no request can ask for (an empty model means "
                    "the default); give it a name or leave 'name' out"
                )
        stray = [
            _ONE_MODEL_FLAGS[name]
            for name in ("openai_base_url", "openai_api_key_env", "openai_ca_file")
            if getattr(self, name) is not None
        ]
        if stray and not self.models and self.backend != "openai":
            flags = ", ".join(stray[:-1]) + " and " + stray[-1] if len(stray) > 1 else stray[0]
            raise InvalidInputError(
                f"{flags} only appl{'ies' if len(stray) == 1 else 'y'} to --backend openai, but the backend "
                f"is {self.backend or 'extractive'}; add --backend openai or drop {flags}"
            )
        if self.backend == "openai" and not self.models and not (self.openai_base_url and self.model):
            raise InvalidInputError(
                "--backend openai needs --openai-base-url and --model, e.g. "
                "--openai-base-url http://localhost:8000/v1 --model meta-llama/Llama-3.1-8B-Instruct"
            )


def check_connection_age(name: str, seconds: float) -> None:
    """``InvalidInputError`` unless ``seconds`` is a connection age gRPC can take (0 included)."""
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_CONNECTION_AGE_S:
        raise InvalidInputError(
            f"--{name.replace('_', '-')} must be a number of seconds from 0 to {MAX_CONNECTION_AGE_S} "
            f"(about 24 days, gRPC's limit), got {seconds}"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Reads a TOML or JSON config file into ``ServerConfig`` keyword arguments (see module docstring).

    A UTF-8 byte order mark (which Windows editors write) is allowed. Relative paths in the
    ``[server]`` table are relative to the file's folder, not to the working directory.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InvalidInputError(f"cannot read config file {path}: {err.strerror}") from err
    data = _parse(path, raw.removeprefix(codecs.BOM_UTF8))
    if not isinstance(data, dict):
        raise InvalidInputError(f"config file {path} must hold a table/object at the top level")
    known_top = {"server", "models", "default_model"}
    unknown = sorted(set(data) - known_top)
    if unknown:
        raise InvalidInputError(
            f"config file {path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known_top))}"
        )
    kwargs = _server_table(path, data.get("server", {}))
    for key in _PATH_KEYS:
        if kwargs.get(key):
            kwargs[key] = path.parent / kwargs[key]
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise InvalidInputError(f"config file {path}: 'models' must be a list of tables ([[models]] in TOML)")
    parsed = []
    for i, entry in enumerate(models):
        entry = dict(entry)
        backend = entry.pop("backend", None)
        if not isinstance(backend, str):
            raise InvalidInputError(
                f'config file {path}: models[{i}] needs a \'backend\' (e.g. "extractive" or "openai")'
            )
        for key in _MODEL_PATH_KEYS:
            if isinstance(entry.get(key), str) and entry[key]:
                entry[key] = str(path.parent / entry[key])
        parsed.append(ModelConfig(backend, entry))
    if parsed:
        kwargs["models"] = tuple(parsed)
    if "default_model" in data:
        if not isinstance(data["default_model"], str):
            raise InvalidInputError(
                f"config file {path}: default_model must be a string (a model's name), got {data['default_model']!r}"
            )
        kwargs["default_model"] = data["default_model"]
    return kwargs


def _parse(path: Path, raw: bytes) -> Any:
    # A TOML document cannot start with "{", so such a file is JSON whatever its name.
    if path.suffix.lower() == ".json" or raw.lstrip().startswith(b"{"):
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InvalidInputError(f"config file {path} is not valid JSON: {err}") from err
    try:
        import tomllib
    except ModuleNotFoundError as err:  # Python 3.10
        raise InvalidInputError(f"reading TOML needs Python 3.11+; write {path} as JSON instead") from err
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"config file {path} is not valid TOML: {err}") from err


def _server_table(path: Path, table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise InvalidInputError(f"config file {path}: [server] must be a table")
    kinds = _server_kinds()
    unknown = sorted(set(table) - set(kinds))
    if unknown:
        raise InvalidInputError(
            f"config file {path}: unknown [server] key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(kinds))}"
        )
    for key, value in table.items():
        kind = kinds[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise InvalidInputError(
                f"config file {path}: [server] {key} must be {_KIND_NAMES[kind]}, got {value!r}"
            )
    return dict(table)


# The [server] keys whose default is None (not given) that are not strings.
_OPTIONAL_KINDS: dict[str, type] = {"metrics_port": int, "max_connection_age_grace": float}


def _server_kinds() -> dict[str, type]:
    """The type each ``[server]`` key must have (paths and names are strings)."""
    kinds: dict[str, type] = {}
    for f in dataclasses.fields(ServerConfig):
        if f.name in ("models", "default_model"):
            continue
        default = f.default
        kinds[f.name] = type(default) if default is not None else _OPTIONAL_KINDS.get(f.name, str)
    return kinds
