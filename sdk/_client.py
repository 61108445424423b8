"""``Client``: ask the cloud model about a long context, condensed on this device first.

    with Client("api.example.com:443", credentials=token) as client:
        stream = client.generate("When did the bridge open?", context=documents, rate=0.33)
        for chunk in stream:
            print(chunk, end="", flush=True)
        print(stream.result.savings.summary())

The channel (see ``_channel``) is made once and reused; every call has a deadline; ``UNAVAILABLE``
is retried by gRPC with backoff (service config), never by a loop here, but for a TLS channel whose
settings do not match the server's, which fails at once (``Client._check_tls``); failures raise the
typed errors of ``_rpc_errors`` with the server's message. ``AsyncClient`` (``_aio``) is the twin.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Literal

import grpc

from splitinfer.sdk._channel import (
    PROBE_METHOD,
    channel_credentials,
    channel_options,
    check_certificates,
    check_metadata_size,
    check_target,
    check_token,
    is_loopback_target,
    read_pem,
    use_tls,
)
from splitinfer.sdk._condenser import Condenser
from splitinfer.sdk._errors import InvalidInputError, SplitinferError
from splitinfer.sdk._inputs import check_bool, check_text, check_timeout
from splitinfer.sdk._policy import CondenserSlot, GenerateResult, Policy
from splitinfer.sdk._prepare import Deadline, Prepared, sampling_options
from splitinfer.sdk._rpc_errors import (
    RequestCancelledError,
    ServerError,
    deadline_passed,
    from_rpc_error,
    is_tls_mismatch,
)
from splitinfer.v1 import inference_pb2 as pb
from splitinfer.v1 import inference_pb2_grpc as pb_grpc

CLOSED_MID_CALL = (
    "the client was closed while this call was being made (close() cancels the calls still open)"
)
# Handed to a read of the answer that gRPC would never complete (see ``end_stuck_read``).
READ_ENDED = object()


class ChannelSettings:
    """Target, TLS, credentials and compression, checked once; shared by both clients."""

    def __init__(
        self,
        target: object,
        credentials: object,
        tls: bool | None,
        root_certificates: bytes | str | os.PathLike[str] | None,
        tls_server_name: str | None,
        compression: bool,
        allow_insecure_credentials: bool,
    ) -> None:
        self.target = check_target(target)
        if tls is not None:
            tls = check_bool(tls, "tls")
        allow_insecure_credentials = check_bool(allow_insecure_credentials, "allow_insecure_credentials")
        compression = check_bool(compression, "compression")
        if tls_server_name is not None:
            tls_server_name = check_text(tls_server_name, "tls_server_name")
        token = check_token(credentials)
        check_metadata_size(self.target, tls_server_name, token)
        roots = read_pem(root_certificates, "root_certificates")  # type: ignore[arg-type]
        if roots is not None:
            roots = check_certificates(roots, "root_certificates").encode("ascii")
        self.secure = use_tls(self.target, tls, roots)
        if (
            token
            and not self.secure
            and not is_loopback_target(self.target)
            and not allow_insecure_credentials
        ):
            raise InvalidInputError(
                f"refusing to send a bearer token in plaintext to {self.target}: use TLS (tls=True or "
                "root_certificates=... / --tls or --tls-ca) or pass allow_insecure_credentials=True "
                "behind a trusted proxy"
            )
        # Call credentials need a secure channel; on plaintext the token travels as metadata.
        self.metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token and not self.secure else ()
        )
        self.credentials = channel_credentials(roots, token) if self.secure else None
        self.options = channel_options(tls_server_name)
        self.compression = grpc.Compression.Gzip if compression else grpc.Compression.NoCompression


def end_stuck_read(state: Any) -> None:
    """Run by gRPC when a call ends: hand ``READ_ENDED`` to a read of it still waiting, if the call
    ended in an error.

    grpcio 1.85 leaves such a read waiting for good when the call had reached a server, the server
    went away before answering, and every retry failed: the status arrives, the read never
    completes, the app hangs past the deadline and ``cancel()`` cannot free it. Only gRPC's private
    call state (``state``) allows this; without it, nothing is done."""
    condition = getattr(state, "condition", None)
    if condition is None or not all(hasattr(state, name) for name in ("code", "response", "due")):
        return
    with condition:
        if state.code in (None, grpc.StatusCode.OK) or state.response is not None:
            return
        if any(getattr(op, "name", "") == "receive_message" for op in state.due):
            state.response = READ_ENDED
            condition.notify_all()


# gRPC's connectivity states by the number its core gives them.
_STATES = {state.value[0]: state for state in grpc.ChannelConnectivity}
_SETTLING = (grpc.ChannelConnectivity.IDLE, grpc.ChannelConnectivity.CONNECTING)


def settled_state(channel: grpc.Channel, timeout: float) -> grpc.ChannelConnectivity | None:
    """The state of ``channel`` once it is connected or has failed to (it starts connecting if
    idle), or None when neither happened within ``timeout`` seconds.

    Read from gRPC's private core channel, in this thread: ``Channel.subscribe`` polls from a thread
    of its own that outlives the subscription by up to 0.2 s and prints a traceback when the channel
    is closed meanwhile. Without that core channel, None: the call goes ahead as it would have."""
    core: Any = getattr(channel, "_channel", None)
    if not (hasattr(core, "check_connectivity_state") and hasattr(core, "watch_connectivity_state")):
        return None
    end = time.time() + timeout
    state = _STATES.get(core.check_connectivity_state(True))
    while state in _SETTLING:
        if time.time() >= end:
            return None
        core.watch_connectivity_state(state.value[0], min(end, time.time() + 0.5))
        state = _STATES.get(core.check_connectivity_state(True))
    return state


class GenerateStream:
    """The answer of one ``Client.generate`` call: iterate it for text chunks.

    After the last chunk, ``result`` holds the ``GenerateResult`` (usage, where condensation ran,
    savings). ``cancel()`` (or leaving a ``with`` block early, or ``close()``, or dropping the
    stream) cancels the call on the server too. Errors during iteration raise the typed
    ``ServerError`` subclasses.
    """

    def __init__(self, call: grpc.Call, prepared: Prepared, request: pb.GenerateRequest, target: str) -> None:
        self._call = call
        self._prepared = prepared
        self._request = request
        self._target = target
        self._pieces: list[str] = []
        self._result: GenerateResult | None = None
        self._error: ServerError | None = None
        self._cancelled = False
        state = getattr(call, "_state", None)
        if state is not None:
            call.add_callback(functools.partial(end_stuck_read, state))  # the state, not the call: no cycle

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._result is not None:
            raise StopIteration
        if self._cancelled:
            raise RequestCancelledError("the call was cancelled by this client", "CANCELLED", self._target)
        try:
            for response in self._call:
                if response is READ_ENDED:
                    raise self._call  # the ended call is its error, as gRPC raises it
                if response.HasField("chunk"):
                    self._pieces.append(response.chunk.text)
                    return response.chunk.text
                if response.HasField("final"):
                    text = "".join(self._pieces)
                    self._result = self._prepared.result(text, response.final, self._request)
                    raise StopIteration
        except grpc.RpcError as err:
            if self._cancelled:
                raise RequestCancelledError(
                    "the call was cancelled by this client", "CANCELLED", self._target
                ) from None
            self._error = from_rpc_error(err, self._target, len(self._pieces), deadline_passed(self._call))
            raise self._error from None
        raise ServerError("the answer stream ended without its final message", "INTERNAL", self._target)

    @property
    def result(self) -> GenerateResult:
        """The finished call's result; raises the call's error if it failed, and ``SplitinferError``
        if the stream has not been read to its end."""
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise SplitinferError(
                "the answer is not complete: iterate the stream to its end (or call collect())"
            )
        return self._result

    @property
    def prepared(self) -> Prepared:
        """Where condensation ran and why, known before the first chunk."""
        return self._prepared

    def collect(self) -> GenerateResult:
        """Read the rest of the answer and return the result."""
        for _ in self:
            pass
        return self.result

    def cancel(self) -> None:
        """Cancel the call; the server stops generating within one chunk."""
        if self._result is None and not self._cancelled:
            self._cancelled = True
            self._call.cancel()

    close = cancel

    def __enter__(self) -> GenerateStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()


class Client:
    """A connection to a splitinfer server, with an on-device condenser.

    ``target`` is ``HOST:PORT``. ``condenser``: ``"default"`` (the bundled one, loaded on first
    use), a ``Condenser``, a bundle path (``pathlib.Path``) or ``None`` (no device condenser).
    ``policy``: see ``Policy``. ``credentials``: the bearer token. ``tls``: ``None`` = TLS unless
    the target is loopback; ``root_certificates``: PEM bytes or a path (default: system roots);
    ``tls_server_name`` overrides the name checked in the server's certificate. ``timeout``: the
    deadline in seconds of each ``generate`` call, retries included: condensing (on the device or
    by the server) and the whole answer share it; condensing on the device stops with
    ``DeadlineExceededError`` when it passes (see ``Condenser.condense``'s ``timeout``).
    ``compression``: gzip requests.
    """

    def __init__(
        self,
        target: str,
        condenser: Condenser | Literal["default"] | os.PathLike[str] | None = "default",
        policy: Policy | str = Policy.PREFER_DEVICE_CONDENSE,
        credentials: str | None = None,
        *,
        tls: bool | None = None,
        root_certificates: bytes | str | os.PathLike[str] | None = None,
        tls_server_name: str | None = None,
        timeout: float = 60.0,
        compression: bool = True,
        allow_insecure_credentials: bool = False,
    ) -> None:
        self.policy = Policy.parse(policy)
        self.timeout = check_timeout(timeout)
        self._slot = CondenserSlot(condenser)
        self.settings = ChannelSettings(
            target,
            credentials,
            tls,
            root_certificates,
            tls_server_name,
            compression,
            allow_insecure_credentials,
        )
        s = self.settings
        if s.secure:
            self._channel = grpc.secure_channel(s.target, s.credentials, s.options, s.compression)
        else:
            self._channel = grpc.insecure_channel(s.target, s.options, s.compression)
        self._stub = pb_grpc.InferenceStub(self._channel)
        self._closed = False
        # Set by close(): calls condensing on the device stop at their next model window.
        self._closing = threading.Event()

    @property
    def target(self) -> str:
        return self.settings.target

    def _check_open(self) -> None:
        if self._closed:
            raise SplitinferError(f"this Client of {self.target} is closed; create a new one to make calls")

    def generate(
        self,
        question: str,
        context: str = "",
        *,
        instruction: str = "",
        rate: float | None = None,
        target_tokens: int | None = None,
        force: Sequence[str] = (),
        keep_digits: bool = True,
        policy: Policy | str | None = None,
        model: str = "",
        max_new_tokens: int = 0,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] = (),
        seed: int | None = None,
        request_id: str = "",
        timeout: float | None = None,
    ) -> GenerateStream:
        """Condense ``context`` per the policy, send the prompt, and stream the answer.

        ``instruction`` (a system prompt) and ``question`` are never condensed. ``rate`` /
        ``target_tokens`` / ``force`` / ``keep_digits`` are the condenser's (see
        ``Condenser.condense``). Condensing (on the device or through the server's ``Condense``)
        happens before this returns; the answer streams as the result is iterated.
        """
        self._check_open()
        deadline = Deadline(check_timeout(self.timeout if timeout is None else timeout))
        prepared = Prepared(
            question=question,
            context=context,
            instruction=instruction,
            rate=rate,
            target_tokens=target_tokens,
            force=force,
            keep_digits=keep_digits,
            policy=self.policy if policy is None else Policy.parse(policy),
            slot=self._slot,
            options=sampling_options(model, max_new_tokens, temperature, top_p, stop, seed, request_id),
        )
        prepared.condense_on_device(deadline, self.target, self._closing)
        if prepared.needs_server_condense:
            try:
                response = self._start(
                    self._stub.Condense,
                    prepared.condense_request(),
                    deadline,
                    "the server condensed the context",
                )
            except grpc.RpcError as err:
                prepared.server_condense_failed(from_rpc_error(err, self.target))
            else:
                prepared.server_condensed(response)
        request = prepared.generate_request()
        call = self._start(self._stub.Generate, request, deadline, "the question was sent")
        return GenerateStream(call, prepared, request, self.target)

    def _start(self, method: Callable[..., Any], request: object, deadline: Deadline, before: str) -> Any:
        """``method(request)`` with what is left of the call's deadline. gRPC refuses a call on a
        closed channel with a bare ValueError; a call that ``close()`` caught on its way (while it
        condensed) is cancelled instead, as ``close()`` promises."""
        self._check_tls(deadline, before)
        timeout = deadline.left(self.target, before)
        try:
            return method(request, timeout=timeout, metadata=self.settings.metadata)
        except ValueError:
            if not self._closed:
                raise
            raise RequestCancelledError(CLOSED_MID_CALL, "CANCELLED", self.target) from None

    def _check_tls(self, deadline: Deadline, before: str) -> None:
        """``ServerUnavailableError`` with the TLS hint at once when a TLS channel cannot connect
        because its settings do not match the server's (``is_tls_mismatch``): gRPC would retry the
        call for about 3 s first. A channel not connected yet is waited for, as the call would wait;
        one that failed to connect is asked for its error by a call that gRPC does not retry."""
        if not self.settings.secure or self._closed:
            return
        try:
            state = settled_state(self._channel, deadline.left(self.target, before))
            if state is not grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                return
            self._channel.unary_unary(PROBE_METHOD)(b"", timeout=deadline.left(self.target, before))
        except grpc.RpcError as err:
            error = from_rpc_error(err, self.target)
            if is_tls_mismatch(error):
                raise error from None
        except ValueError:  # closed meanwhile: the call says so
            return

    def close(self) -> None:
        """Close the channel; calls still open are cancelled, condensing on the device included."""
        self._closed = True
        self._closing.set()
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
