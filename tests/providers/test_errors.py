"""The documented exception tree is the real one, and every error names its provider."""

from __future__ import annotations

import re

import pytest

from providers import errors
from providers.errors import (
    FATAL_BY_KIND,
    FatalFailure,
    ProviderFailure,
    RateLimited,
    RetryableFailure,
)


def documented_tree() -> dict[str, str]:
    """Class name -> documented parent, read from the module docstring's drawing."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        found = re.match(r"^[\s│]*(?:[├└]── )?([A-Z][A-Za-z]+)(?=[\s(])", line + " ")
        if not found or ("──" not in line and not line.strip().startswith("ProviderFailure")):
            continue
        name = found.group(1)
        depth = line.index(name)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_the_docstring_tree_matches_the_classes() -> None:
    documented = documented_tree()
    actual = {
        name: cls.__mro__[1].__name__
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, ProviderFailure) and cls is not ProviderFailure
    }
    assert documented == actual


def test_every_fatal_kind_has_its_class() -> None:
    for kind, cls in FATAL_BY_KIND.items():
        assert issubclass(cls, FatalFailure)
        assert cls.kind is kind


def test_retryable_errors_carry_retry_after_and_the_provider() -> None:
    error = RateLimited("segmind", "Too many requests", 429, retry_after=3.0)
    assert isinstance(error, RetryableFailure)
    assert error.retry_after == 3.0
    assert str(error) == "segmind (HTTP 429): Too many requests"


@pytest.mark.parametrize("cls", [RetryableFailure, FatalFailure])
def test_the_two_branches_do_not_overlap(cls: type[ProviderFailure]) -> None:
    other = FatalFailure if cls is RetryableFailure else RetryableFailure
    for sub in vars(errors).values():
        if isinstance(sub, type) and issubclass(sub, cls):
            assert not issubclass(sub, other)
