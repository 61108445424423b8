"""Teachers: the large models whose word-level judgement the condenser learns (see ``base``).

``get_teacher(name, **settings)`` builds one by name; each lives in its own module and loads its
model lazily, so importing this package is cheap.
"""

from __future__ import annotations

from typing import Any

from splitinfer.converters.teachers.base import Teacher, score_batch
from splitinfer.sdk._errors import InvalidInputError

__all__ = ["TEACHERS", "Teacher", "get_teacher", "score_batch"]

TEACHERS = ("minilm", "llm")


def get_teacher(name: str, **settings: Any) -> Teacher:
    """The teacher called ``name`` with ``settings`` overriding its defaults."""
    if name == "minilm":
        from splitinfer.converters.teachers.minilm import MiniLMTeacher

        return MiniLMTeacher(**settings)
    if name == "llm":
        from splitinfer.converters.teachers.llm import LLMTeacher

        return LLMTeacher(**settings)
    raise InvalidInputError(f"unknown teacher {name!r}; use one of {', '.join(TEACHERS)}")
