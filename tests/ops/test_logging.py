"""Structured logs: the JSON shape, the job context, and no secret in any formatted line."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from config.redaction import redact
from config.settings import Settings, key_id
from devstack.stack import dev_key
from workers.logging import (
    CHATTY_LOGGERS,
    JsonFormatter,
    configure_logging,
    current_context,
    log_context,
)

RUNWAY_KEY = dev_key("runway")
SEGMIND_KEY = dev_key("segmind")
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        runway={"api_keys": [RUNWAY_KEY]},
        segmind={"api_keys": [SEGMIND_KEY]},
        s3_secret_access_key=S3_SECRET,
        log_level="DEBUG",
    )


@pytest.fixture
def captured(settings: Settings) -> Iterator[io.StringIO]:
    """Everything the root logger writes, through restyle's handler."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.captureWarnings(False)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_object_with_the_standard_fields(captured: io.StringIO) -> None:
    logging.getLogger("pipeline.submitting").info("submitted %s after %d tries", "abc", 2)
    (line,) = lines(captured)
    assert line["level"] == "INFO"
    assert line["logger"] == "pipeline.submitting"
    assert line["message"] == "submitted abc after 2 tries"
    assert line["ts"].endswith("Z") and "T" in line["ts"]


def test_log_context_fields_ride_on_every_record_inside_the_block(captured: io.StringIO) -> None:
    log = logging.getLogger("tasks.steps")
    with log_context(job_id="a" * 24, batch="nightly-2025-01-11", provider="runway"):
        with log_context(remote_id="task-1", state="SUBMITTED", attempt=2):
            log.info("polled")
        log.info("outer")
    log.info("outside")
    inner, outer, outside = lines(captured)
    assert inner["job_id"] == "a" * 24
    assert inner["batch"] == "nightly-2025-01-11"
    assert (inner["provider"], inner["remote_id"]) == ("runway", "task-1")
    assert inner["state"] == "SUBMITTED"
    assert inner["attempt"] == 2
    assert "remote_id" not in outer and outer["provider"] == "runway"
    assert "job_id" not in outside
    assert current_context() == {}


def test_explicit_extra_fields_win_over_the_bound_context(captured: io.StringIO) -> None:
    with log_context(job_id="a" * 24):
        logging.getLogger("x").info("redrive", extra={"job_id": "b" * 24})
    assert lines(captured)[0]["job_id"] == "b" * 24


def test_log_context_refuses_fields_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="prompt"), log_context(prompt="secret plans"):
        pass


def test_a_configured_key_never_reaches_the_formatted_line(captured: io.StringIO) -> None:
    log = logging.getLogger("providers.runway")
    log.info(f"calling with {RUNWAY_KEY}")
    log.warning("header was Authorization: Bearer %s", RUNWAY_KEY)
    try:
        raise RuntimeError(f"401 for key {SEGMIND_KEY} and secret {S3_SECRET}")
    except RuntimeError:
        log.exception("call failed with %r", {"x-api-key": SEGMIND_KEY})
    text = captured.getvalue()
    for secret in (RUNWAY_KEY, SEGMIND_KEY, S3_SECRET):
        assert secret not in text
    first, _, failure = lines(captured)
    assert first["message"] == f"calling with [key:{key_id(SecretStr(RUNWAY_KEY))}]"
    assert "RuntimeError: 401 for key [key:" in failure["exception"]


def test_secret_shaped_text_is_redacted_even_when_not_configured(captured: io.StringIO) -> None:
    foreign = "key_" + "f" * 128
    logging.getLogger("x").error(
        "failed: %s %s %s %s", foreign, "Authorization: Bearer abcdefgh12345678",
        "redis://:hunter22@redis:6379/0",
        "https://s3/x.mp4?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=deadbeef",
    )  # fmt: skip
    message = lines(captured)[0]["message"]
    for leaked in (foreign, "abcdefgh12345678", "hunter22", "deadbeef", "AKIA"):
        assert leaked not in message
    assert "redis://:[REDACTED]@redis:6379/0" in message


def test_context_values_are_redacted_too(captured: io.StringIO) -> None:
    with log_context(remote_id=RUNWAY_KEY):
        logging.getLogger("x").info("odd")
    assert RUNWAY_KEY not in captured.getvalue()


def test_redact_replaces_given_secrets_and_leaves_other_text() -> None:
    text = "key=s3cr3t-value url=http://127.0.0.1:8900/runway id=abc"
    assert redact(text, [SecretStr("s3cr3t-value")]) == (
        "key=[REDACTED] url=http://127.0.0.1:8900/runway id=abc"
    )
    assert redact("no secrets here", ["abc"]) == "no secrets here"


def test_a_malformed_format_call_is_still_logged(captured: io.StringIO) -> None:
    logging.getLogger("x").info("%s and %s", "only one")
    assert "only one" in lines(captured)[0]["message"]


def test_the_formatter_alone_includes_exception_text() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "bad", None, sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in line["exception"]


@pytest.fixture
def configure(settings: Settings) -> Iterator[Callable[[str], io.StringIO]]:
    """``configure(level)``: restyle's logging at ``level`` into a fresh stream; undone after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    chatty = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}

    def at(level: str) -> io.StringIO:
        stream = io.StringIO()
        configure_logging(settings.model_copy(update={"log_level": level}), stream=stream)
        return stream

    yield at
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in chatty.items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(False)


def _request_with_key(path: str) -> None:
    """One real httpx request (answered in process), with a configured key in its URL."""
    with httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200))) as client:
        client.get(f"http://emulator.test/{path}?token={RUNWAY_KEY}")


def test_httpx_request_lines_are_left_out_unless_the_level_is_debug(
    configure: Callable[[str], io.StringIO],
) -> None:
    stream = configure("INFO")
    _request_with_key("quiet")
    logging.getLogger("httpx").warning("the pool is full")
    logging.getLogger("pipeline.submitting").info("submitted")

    assert [(line["logger"], line["message"]) for line in lines(stream)] == [
        ("httpx", "the pool is full"),
        ("pipeline.submitting", "submitted"),
    ]

    stream = configure("DEBUG")
    _request_with_key("loud")
    request_lines = [line for line in lines(stream) if line["logger"] == "httpx"]
    assert [line["message"].startswith("HTTP Request: GET") for line in request_lines] == [True]
    assert "/loud" in request_lines[0]["message"] and RUNWAY_KEY not in stream.getvalue()


HOSTILE = "render failed\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\nERROR forged line \u202eevil\x9b31m"


def test_a_text_log_shows_a_provider_texts_escapes_instead_of_obeying_them(
    settings: Settings,
) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    try:
        configure_logging(settings.model_copy(update={"log_format": "text"}), stream=stream)
        logging.getLogger("pipeline.polling").warning("provider said: %s", HOSTILE)
        try:
            raise RuntimeError(HOSTILE)
        except RuntimeError:
            logging.getLogger("pipeline.polling").exception("poll failed")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.captureWarnings(False)
    text = stream.getvalue()
    assert not any(char in text for char in "\x1b\x07\x9b\u202e")
    assert "\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J\\x0aERROR forged line \\u202eevil\\x9b31m" in text
    # The message stays one line; a traceback keeps its own lines, each made visible.
    first, *rest = text.splitlines()
    assert first.endswith(
        "WARNING pipeline.polling provider said: render failed\\x1b]52;c;"
        "cm0gLXJmIH4=\\x07\\x1b[2J\\x0aERROR forged line \\u202eevil\\x9b31m"
    )
    assert "RuntimeError: render failed\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J" in rest


def test_a_json_log_escapes_c1_and_bidi_characters_and_reads_back_the_same(
    captured: io.StringIO,
) -> None:
    logging.getLogger("pipeline.polling").warning("provider said: %s", HOSTILE)
    raw = captured.getvalue()
    assert raw.count("\n") == 1 and not any(char in raw for char in "\x1b\x07\x9b\u202e")
    (line,) = lines(captured)
    assert line["message"] == f"provider said: {HOSTILE}"
