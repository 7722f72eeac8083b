"""The documented exception tree matches the classes, and S3 errors are classified by code."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

import storage.errors as errors
from storage.errors import S3Refused, S3Unavailable, StorageError
from storage.s3 import classify


def documented_tree() -> dict[str, str]:
    """Each class named in the module docstring, mapped to its parent by indentation."""
    assert errors.__doc__ is not None
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        match = re.match(r"^[\s│├└─]*([A-Z][A-Za-z0-9]+)\b", line)
        if match is None or not hasattr(errors, match[1]):
            continue
        depth = match.start(1)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match[1]] = stack[-1][1] if stack else "Exception"
        stack.append((depth, match[1]))
    return parents


def test_docstring_tree_matches_the_classes() -> None:
    tree = documented_tree()
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, StorageError)
    }
    assert set(tree) == defined
    for name, parent in tree.items():
        assert getattr(errors, name).__bases__[0].__name__ == parent


def test_only_gone_deadline_refusals_and_unsafe_outputs_are_not_retryable() -> None:
    fatal = {"SourceGone", "DeadlinePassed", "S3Refused", "UnsafeOutput"}
    for name in documented_tree():
        assert getattr(errors, name).retryable is (name not in fatal)


def client_error(status: int, code: str) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "PutObject")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (500, "InternalError", S3Unavailable),
        (503, "SlowDown", S3Unavailable),
        (400, "RequestTimeout", S3Unavailable),
        (403, "AccessDenied", S3Refused),
        (404, "NoSuchBucket", S3Refused),
        (400, "InvalidArgument", S3Refused),
    ],
)
def test_s3_error_answers_are_classified_by_status_and_code(
    status: int, code: str, expected: type[StorageError]
) -> None:
    error = classify("put s3://b/k", client_error(status, code))
    assert type(error) is expected
    assert code in str(error)
