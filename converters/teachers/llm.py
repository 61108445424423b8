"""``llm``: the large model itself labels words, LLMLingua-2 style, through an OpenAI-compatible API.

The context is cut into chunks of whole sentences (at most ``chunk_words`` words). For each
chunk the model is asked to compress it by deleting words only: no reordering, rephrasing or
new words, keeping what the question needs. The answer is aligned back to the chunk's words
(``_align``): aligned words score 1.0, the others 0.0. A chunk whose answer drifts (less than
``min_alignment`` of its words found in order) is dropped, and with it the case, which is then
reported as failed (``--resume`` retries it later); the case's chunks not yet asked are not.

Works with any server that speaks ``POST {endpoint}/chat/completions`` (vLLM, TGI, llama.cpp's
server, Ollama, OpenAI). Requests are concurrency-bounded (``concurrency`` in flight, and as many
cases), retried with exponential backoff on 429, 5xx and connection errors (``Retry-After``
honoured), and results are yielded case by case as they complete, so the caller can append
each one to disk: a crash loses no finished case. An endpoint that stays unreachable through the
retries, answers 401, 403 or 404 (key, permission, model or path), redirects, answers an HTML
page or says the account is out of quota, stops the whole run (``EndpointError``): every other
case would fail the same way.

Models wrap their answer now and then: reasoning before it (``<think>...</think>``), a preamble
line ("Here is the compressed text:"), a markdown code fence. These are cut off before aligning
(``answer_text``), so they neither count as drift nor mark original words kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from splitinfer.converters.teachers._align import align
from splitinfer.sdk._errors import InvalidInputError, SplitinferError
from splitinfer.sdk._inputs import check_http_url, retry_after_seconds
from splitinfer.sdk._segments import segment_words
from splitinfer.sdk._text import split_words

SYSTEM_PROMPT = (
    "You are an excellent linguist and very good at compressing passages into short expressions "
    "by removing unimportant words, while retaining as much information as possible."
)
USER_PROMPT = (
    "Compress the given text to short expressions, such that you can still answer the question "
    "from it. Comply with these conditions:\n"
    "1. You can ONLY remove unimportant words.\n"
    "2. Do not reorder the original words.\n"
    "3. Do not change the original words.\n"
    "4. Do not use abbreviations or emojis.\n"
    "5. Do not add new words or symbols.\n"
    "Compress the text aggressively by removing words only; keep every word the question needs.\n"
    "Question: {question}\n"
    "Text to compress:\n<<<\n{text}\n>>>\n"
    "Reply with the compressed text only."
)
PROMPT_VERSION = hashlib.sha256((SYSTEM_PROMPT + USER_PROMPT).encode()).hexdigest()[:12]
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class DriftError(SplitinferError):
    """The model's compression did not keep to the original words."""


class CutOffError(DriftError):
    """The model's answer ran to max_tokens: the words after the cut would read as dropped."""


class EndpointError(SplitinferError):
    """The endpoint itself fails (unreachable, refuses the key, no such model or path): every
    case would fail the same way, so the run stops instead of failing them one by one."""


# Answers that say the request can never work as sent: wrong key, no permission, wrong model or path.
_FATAL_STATUS = frozenset({401, 403, 404})
# Wrappers around the compressed text (see the module doc): everything up to the last
# ``</think>`` (R1-style templates open the tag in the prompt, so the answer may lack ``<think>``),
# a first line such as "Sure! Here is the compressed text:", and the fence lines of a code block.
_REASONING = re.compile(r"^.*</think>", re.DOTALL)
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|okay|ok)\b[^\n]*?[.!,]\s*)?(?:here(?: is|'s|\u2019s)|compressed)[^\n]*:[ \t]*\n",
    re.IGNORECASE,
)
_FENCE_OPEN = re.compile(r"^\s*```[^\n`]*\n")
_FENCE_CLOSE = re.compile(r"\n\s*```\s*$")


@dataclass(frozen=True)
class LLMSettings:
    """How the llm teacher asks and filters (written into the labels file; no secrets)."""

    model: str = "default"
    chunk_words: int = 200
    min_alignment: float = 0.9
    lookahead: int = 48
    temperature: float = 0.0
    max_tokens: int = 1024
    prompt: str = PROMPT_VERSION


class LLMTeacher:
    """Hard keep/drop labels from an LLM that compresses chunk by chunk (see the module doc)."""

    name = "llm"

    def __init__(
        self,
        endpoint: str = "http://127.0.0.1:8000/v1",
        api_key: str | None = None,
        concurrency: int = 8,
        max_retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 120.0,
        **settings: Any,
    ) -> None:
        if concurrency < 1:
            raise InvalidInputError(f"concurrency must be >= 1, got {concurrency}")
        self.config = LLMSettings(**settings)
        if self.config.chunk_words < 1:
            raise InvalidInputError(f"chunk_words must be >= 1, got {self.config.chunk_words}")
        self.url = _check_endpoint(endpoint) + "/chat/completions"
        self.api_key = api_key
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff = backoff
        self.timeout = timeout
        self._usage = {"requests": 0, "retries": 0, "chunks": 0, "chunks_drifted": 0}
        self._usage.update(prompt_tokens=0, completion_tokens=0)

    def settings(self) -> dict[str, Any]:
        return {"teacher": self.name, **asdict(self.config)}

    def usage(self) -> dict[str, int]:
        """Requests, retries, chunks (and how many drifted), tokens in and out so far."""
        return dict(self._usage)

    def chunks(self, context: str) -> list[tuple[int, int]]:
        """Word ranges of at most ``chunk_words`` words, cut between sentences where possible."""
        words, gaps = split_words(context)
        limit = self.config.chunk_words
        segments, _ = segment_words(words, gaps, [1] * len(words), max_words=limit, max_tokens=limit)
        out: list[tuple[int, int]] = []
        for seg in segments:
            if out and seg.end - out[-1][0] <= limit:
                out[-1] = (out[-1][0], seg.end)
            else:
                out.append((seg.start, seg.end))
        return out

    async def _complete(self, client: Any, question: str, text: str) -> str:
        import httpx

        body = {
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": USER_PROMPT.format(question=question, text=text)},
            ],
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }
        for attempt in range(self.max_retries + 1):
            delay = self.backoff * 2**attempt
            try:
                self._usage["requests"] += 1
                response = await client.post(self.url, json=body)
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as err:
                # It was reached but did not answer in time: slow (long answer, queue), not down.
                problem = f"{self.url} did not answer within {self.timeout:g} s ({type(err).__name__})"
                hint, unreachable = "; raise --timeout, or lower --workers or --chunk-words", False
            except (httpx.ConnectError, httpx.ConnectTimeout) as err:
                problem, unreachable = f"cannot reach {self.url} ({_describe(err)})", True
            except httpx.TransportError as err:
                problem, unreachable = f"the connection to {self.url} broke ({_describe(err)})", True
            except httpx.DecodingError as err:
                raise SplitinferError(
                    f"{self.url} sent an answer that cannot be decoded ({err}); check the proxy in front "
                    "of the server"
                ) from None
            else:
                if response.status_code == 200:
                    return self._content(response)
                problem = f"{self.url} answered HTTP {response.status_code}: {_error_text(response)}"
                hint, unreachable = "", False
                if response.status_code in _FATAL_STATUS or 300 <= response.status_code < 400:
                    raise EndpointError(f"{problem}; {self._fix(response)}")
                if response.status_code == 429 and "insufficient_quota" in response.text:
                    # OpenAI's 429 for an account out of credit: no wait makes it pass.
                    raise EndpointError(f"{problem}; add credit to the account or use another API key")
                if response.status_code in (400, 413) and "context" in response.text.lower():
                    # e.g. llama.cpp's "Requested tokens (...) exceed context window of 512"
                    raise SplitinferError(
                        f"{problem}; the chunk does not fit the model's context: lower --chunk-words "
                        f"(now {self.config.chunk_words}) or give the engine a larger context"
                    )
                if response.status_code not in _RETRY_STATUS:
                    raise SplitinferError(problem)
                delay = max(delay, _retry_after(response))
            if attempt < self.max_retries:
                self._usage["retries"] += 1
                await asyncio.sleep(delay)
        if not unreachable:
            raise SplitinferError(f"{problem}; gave up after {self.max_retries + 1} attempts{hint}")
        # Unreachable through every retry: the endpoint, not this case, is what fails.
        hint = "is the server running, and is --endpoint right?"
        if self.url.startswith("https://"):
            # TLS to a plain-HTTP port fails without saying so (the server just hangs up).
            hint += " (a server without TLS needs http://)"
        raise EndpointError(f"{problem}; gave up after {self.max_retries + 1} attempts; {hint}")

    def _fix(self, response: Any) -> str:
        """How to fix the endpoint that answered a redirect, 401, 403 or 404."""
        base = self.url.removesuffix("/chat/completions")
        status = response.status_code
        if status < 400:
            where = response.headers.get("location", "another URL").removesuffix("/chat/completions")
            return f"it redirects to {where}: give that base URL as --endpoint"
        if status == 401 and not self.api_key:
            return "no API key was sent: set OPENAI_API_KEY, or name the variable that holds it with --api-key-env"
        if status == 401:
            return "the server refused the API key: check the key in OPENAI_API_KEY (or the --api-key-env variable)"
        if status == 403:
            return f"the API key may not use --model {self.config.model!r} or this endpoint: check both"
        if base.endswith("/chat/completions"):
            return "--endpoint is the base URL: drop /chat/completions from it"
        if not base.endswith("/v1"):
            return f"OpenAI-compatible servers serve it under /v1: try --endpoint {base}/v1"
        return f"check --model {self.config.model!r} (the served ones: GET {base}/models) and --endpoint"

    def _content(self, response: Any) -> str:
        try:
            # .text decodes with the declared charset and replaces bytes that are not text, so one
            # bad byte (a token cut inside a UTF-8 character) costs one word, not the whole case.
            data = json.loads(response.text)
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            kind = response.headers.get("content-type", "no content type")
            # An HTML page is no API at all (a web UI, a proxy's page): every case would get it.
            error = EndpointError if "html" in kind else SplitinferError
            raise error(
                f"{self.url} did not answer in chat-completions JSON (it sent {kind}: "
                f"{_error_text(response)}); --endpoint must be the base URL of an OpenAI-compatible API"
            ) from None
        usage = data.get("usage") or {}
        for key in ("prompt_tokens", "completion_tokens"):
            if isinstance(usage.get(key), int):
                self._usage[key] += usage[key]
        if choice.get("finish_reason") == "length":
            # Cut off at max_tokens: the words after the cut would be labelled dropped.
            raise CutOffError(
                f"the model's answer was cut off at max_tokens ({self.config.max_tokens}); lower "
                f"--chunk-words (now {self.config.chunk_words}), or turn off the model's reasoning"
            )
        if not isinstance(content, str):
            raise DriftError("the model answered no text (content is null)")
        return content

    async def _score_case(
        self, client: Any, limit: asyncio.Semaphore, question: str, context: str
    ) -> np.ndarray:
        words, gaps = split_words(context)

        async def one(start: int, end: int) -> np.ndarray:
            text = "".join(words[i] + gaps[i] for i in range(start, end)).strip()
            try:
                async with limit:
                    answer = answer_text(await self._complete(client, question, text)).split()
                if len(answer) > 4 * (end - start) + 64:
                    # No compression is longer than its text; aligning a huge answer word by word
                    # would hold up every request in flight for seconds.
                    raise DriftError(
                        f"the model's answer for words {start}-{end} has {len(answer)} words, more than "
                        "a compression of them can have"
                    )
                result = align(words[start:end], answer, self.config.lookahead)
                if result.ratio < self.config.min_alignment:
                    raise DriftError(
                        f"the model's compression of words {start}-{end} drifted from the original "
                        f"({result.ratio:.0%} of its words aligned, need {self.config.min_alignment:.0%})"
                    )
            except DriftError as err:  # answered, but unusable: cut off, no text, or drifted
                self._usage["chunks"] += 1
                self._usage["chunks_drifted"] += 1
                size = len(text.encode("utf-8"))
                if isinstance(err, CutOffError) and size < self.config.max_tokens:
                    # A token is at least a byte of text, so a compression of the text fits.
                    # So lowering --chunk-words, the advice for a long chunk, cannot help.
                    raise DriftError(
                        f"the model's answer ran to max_tokens ({self.config.max_tokens}) although words "
                        f"{start}-{end} are only {size} bytes, which no compression of them needs: the "
                        "model wrote something else (reasoning, or on and on, as a base or random-weight "
                        "model does); turn off its reasoning, or use an instruction-tuned model"
                    ) from None
                raise
            self._usage["chunks"] += 1
            return result.kept

        tasks = [asyncio.ensure_future(one(a, b)) for a, b in self.chunks(context)]
        try:
            if tasks:
                # One unusable chunk fails the case: its other chunks are not asked (nor billed) for.
                await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:  # also when this case is cancelled (Ctrl-C): no chunk outlives it
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        failed = [t.exception() for t in tasks if not t.cancelled() and t.exception() is not None]
        if failed:
            raise failed[0]  # the first in chunk order of those that failed
        parts = [task.result() for task in tasks]
        kept = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
        if kept.size and not kept.any():
            raise DriftError("the model kept no word of the context (empty answers)")
        return kept.astype(np.float32)

    def score_stream(self, pairs: Sequence[tuple[str, str]]) -> Iterator[tuple[int, np.ndarray | Exception]]:
        """``(index, scores or error)`` per pair as cases complete, ``concurrency`` cases at a time."""
        loop = asyncio.new_event_loop()
        try:
            yield from self._drive(loop, pairs)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _drive(self, loop: asyncio.AbstractEventLoop, pairs: Sequence[tuple[str, str]]) -> Iterator[Any]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        client = httpx.AsyncClient(timeout=self.timeout, headers=headers)
        limit = asyncio.Semaphore(self.concurrency)
        todo = iter(enumerate(pairs))
        pending: dict[asyncio.Task, int] = {}
        try:
            loop.run_until_complete(self._check_model(client))
            while True:
                while len(pending) < self.concurrency:
                    item = next(todo, None)
                    if item is None:
                        break
                    index, (question, context) = item
                    pending[loop.create_task(self._score_case(client, limit, question, context))] = index
                if not pending:
                    return
                done, _ = loop.run_until_complete(asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED))
                for task in sorted(done, key=pending.__getitem__):
                    index = pending.pop(task)
                    err = task.exception()
                    if err is not None and (
                        isinstance(err, EndpointError) or not isinstance(err, SplitinferError)
                    ):
                        raise err
                    yield index, err if err is not None else task.result()
        finally:
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(client.aclose())

    async def _check_model(self, client: Any) -> None:
        """``EndpointError`` when ``GET /models`` lists models and not ours: some servers (llama.cpp)
        answer whatever model is asked for, and the labels file would name one that never ran."""
        import httpx

        try:
            response = await client.get(self.url.removesuffix("/chat/completions") + "/models")
            served = [m["id"] for m in response.json()["data"]] if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return  # no model list here: nothing to check
        if served and self.config.model not in served:
            raise EndpointError(
                f"--model {self.config.model!r} is not served at {self.url.removesuffix('/chat/completions')}; "
                f"it serves {', '.join(map(str, served))}"
            )

    def score(self, question: str, context: str) -> np.ndarray:
        """1.0 for each word the model kept, 0.0 for the others; raises if the model drifted."""
        for _, result in self.score_stream([(question, context)]):
            if isinstance(result, Exception):
                raise result
            return result
        return np.zeros(0, dtype=np.float32)


def _check_endpoint(endpoint: str) -> str:
    """The base URL without its trailing slash; ``InvalidInputError`` unless it is http(s)://host..."""
    return check_http_url(endpoint, "--endpoint")


def answer_text(content: str) -> str:
    """The compressed text in a model's answer: reasoning, a preamble line and a code fence cut off."""
    text = _REASONING.sub("", content, count=1)
    text = _PREAMBLE.sub("", text, count=1)
    if _FENCE_OPEN.match(text):
        text = _FENCE_CLOSE.sub("", _FENCE_OPEN.sub("", text, count=1), count=1)
    return text


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _error_text(response: Any) -> str:
    """What an answer says, on one short line: the JSON error's message, an HTML page's title,
    else the body with its markup and line breaks taken out."""
    text = response.text
    try:
        data = json.loads(text)
    except ValueError:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        text = title.group(1) if title else re.sub(r"<[^>]*>", " ", text)
    else:
        if isinstance(data, dict) and any(k in data for k in ("error", "detail", "message")):
            error = data.get("error", data.get("detail", data.get("message")))
            text = str(error.get("message", error) if isinstance(error, dict) else error)
    text = " ".join(text.split()) or "(empty)"
    return text if len(text) <= 200 else text[:200] + "..."


def _retry_after(response: Any) -> float:
    """The seconds ``Retry-After`` asks for (a number or an HTTP date), 0 to 60; 0 when absent."""
    seconds = retry_after_seconds(response.headers.get("retry-after", ""))
    return min(60.0, max(0.0, seconds)) if seconds is not None and math.isfinite(seconds) else 0.0
