from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINISH_REASON_UNSPECIFIED: _ClassVar[FinishReason]
    STOP: _ClassVar[FinishReason]
    LENGTH: _ClassVar[FinishReason]
    STOP_STRING: _ClassVar[FinishReason]
FINISH_REASON_UNSPECIFIED: FinishReason
STOP: FinishReason
LENGTH: FinishReason
STOP_STRING: FinishReason

class Prompt(_message.Message):
    __slots__ = ("instruction", "context", "question")
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    instruction: str
    context: str
    question: str
    def __init__(self, instruction: _Optional[str] = ..., context: _Optional[str] = ..., question: _Optional[str] = ...) -> None: ...

class Condensation(_message.Message):
    __slots__ = ("where", "original_tokens", "condensed_tokens", "rate_requested", "target_tokens", "condenser_version", "condense_ms")
    class Where(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        WHERE_UNSPECIFIED: _ClassVar[Condensation.Where]
        DEVICE: _ClassVar[Condensation.Where]
        SERVER: _ClassVar[Condensation.Where]
    WHERE_UNSPECIFIED: Condensation.Where
    DEVICE: Condensation.Where
    SERVER: Condensation.Where
    WHERE_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CONDENSED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    RATE_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    TARGET_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CONDENSER_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONDENSE_MS_FIELD_NUMBER: _ClassVar[int]
    where: Condensation.Where
    original_tokens: int
    condensed_tokens: int
    rate_requested: float
    target_tokens: int
    condenser_version: str
    condense_ms: float
    def __init__(self, where: _Optional[_Union[Condensation.Where, str]] = ..., original_tokens: _Optional[int] = ..., condensed_tokens: _Optional[int] = ..., rate_requested: _Optional[float] = ..., target_tokens: _Optional[int] = ..., condenser_version: _Optional[str] = ..., condense_ms: _Optional[float] = ...) -> None: ...

class SamplingOptions(_message.Message):
    __slots__ = ("max_new_tokens", "temperature", "top_p", "stop", "seed")
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    max_new_tokens: int
    temperature: float
    top_p: float
    stop: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    def __init__(self, max_new_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., stop: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("request_id", "model", "prompt", "condensation", "sampling")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    CONDENSATION_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    model: str
    prompt: Prompt
    condensation: Condensation
    sampling: SamplingOptions
    def __init__(self, request_id: _Optional[str] = ..., model: _Optional[str] = ..., prompt: _Optional[_Union[Prompt, _Mapping]] = ..., condensation: _Optional[_Union[Condensation, _Mapping]] = ..., sampling: _Optional[_Union[SamplingOptions, _Mapping]] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("chunk", "final")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    chunk: Chunk
    final: GenerateFinal
    def __init__(self, chunk: _Optional[_Union[Chunk, _Mapping]] = ..., final: _Optional[_Union[GenerateFinal, _Mapping]] = ...) -> None: ...

class Chunk(_message.Message):
    __slots__ = ("text", "index")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    text: str
    index: int
    def __init__(self, text: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens", "time_to_first_chunk_ms", "total_ms")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_CHUNK_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    time_to_first_chunk_ms: float
    total_ms: float
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., time_to_first_chunk_ms: _Optional[float] = ..., total_ms: _Optional[float] = ...) -> None: ...

class GenerateFinal(_message.Message):
    __slots__ = ("finish_reason", "usage", "request_id", "model")
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    finish_reason: FinishReason
    usage: Usage
    request_id: str
    model: str
    def __init__(self, finish_reason: _Optional[_Union[FinishReason, str]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., request_id: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class CondenseRequest(_message.Message):
    __slots__ = ("request_id", "context", "question", "rate", "target_tokens", "force", "keep_digits", "condenser")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    TARGET_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    KEEP_DIGITS_FIELD_NUMBER: _ClassVar[int]
    CONDENSER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    context: str
    question: str
    rate: float
    target_tokens: int
    force: _containers.RepeatedScalarFieldContainer[str]
    keep_digits: bool
    condenser: str
    def __init__(self, request_id: _Optional[str] = ..., context: _Optional[str] = ..., question: _Optional[str] = ..., rate: _Optional[float] = ..., target_tokens: _Optional[int] = ..., force: _Optional[_Iterable[str]] = ..., keep_digits: _Optional[bool] = ..., condenser: _Optional[str] = ...) -> None: ...

class CondenseResponse(_message.Message):
    __slots__ = ("condensed", "original_tokens", "condensed_tokens", "achieved_rate", "condense_ms", "condenser_version")
    CONDENSED_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CONDENSED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ACHIEVED_RATE_FIELD_NUMBER: _ClassVar[int]
    CONDENSE_MS_FIELD_NUMBER: _ClassVar[int]
    CONDENSER_VERSION_FIELD_NUMBER: _ClassVar[int]
    condensed: str
    original_tokens: int
    condensed_tokens: int
    achieved_rate: float
    condense_ms: float
    condenser_version: str
    def __init__(self, condensed: _Optional[str] = ..., original_tokens: _Optional[int] = ..., condensed_tokens: _Optional[int] = ..., achieved_rate: _Optional[float] = ..., condense_ms: _Optional[float] = ..., condenser_version: _Optional[str] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "backend", "context_tokens", "max_new_tokens", "description", "token_counting")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNTING_FIELD_NUMBER: _ClassVar[int]
    name: str
    backend: str
    context_tokens: int
    max_new_tokens: int
    description: str
    token_counting: str
    def __init__(self, name: _Optional[str] = ..., backend: _Optional[str] = ..., context_tokens: _Optional[int] = ..., max_new_tokens: _Optional[int] = ..., description: _Optional[str] = ..., token_counting: _Optional[str] = ...) -> None: ...

class CondenserInfo(_message.Message):
    __slots__ = ("model_version", "format_version", "default_rate", "teacher", "sha256", "max_input_words")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_RATE_FIELD_NUMBER: _ClassVar[int]
    TEACHER_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    MAX_INPUT_WORDS_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    format_version: int
    default_rate: float
    teacher: str
    sha256: str
    max_input_words: int
    def __init__(self, model_version: _Optional[str] = ..., format_version: _Optional[int] = ..., default_rate: _Optional[float] = ..., teacher: _Optional[str] = ..., sha256: _Optional[str] = ..., max_input_words: _Optional[int] = ...) -> None: ...

class GetInfoResponse(_message.Message):
    __slots__ = ("server_version", "models", "default_model", "condensers", "max_request_bytes")
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    CONDENSERS_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_BYTES_FIELD_NUMBER: _ClassVar[int]
    server_version: str
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    default_model: str
    condensers: _containers.RepeatedCompositeFieldContainer[CondenserInfo]
    max_request_bytes: int
    def __init__(self, server_version: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., default_model: _Optional[str] = ..., condensers: _Optional[_Iterable[_Union[CondenserInfo, _Mapping]]] = ..., max_request_bytes: _Optional[int] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "default_model")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    default_model: str
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., default_model: _Optional[str] = ...) -> None: ...
