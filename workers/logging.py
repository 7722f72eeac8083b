"""Structured logs: one JSON object per line, with the job's fields, and never a secret.

Every record that reaches the root handler passes `RedactingFilter` (`config.redaction`:
configured API keys and the S3 secret become ``[key:<key_id>]`` / ``[REDACTED]``; anything
shaped like a bearer token, a Runway key, a URL password or an S3 signature becomes
``[REDACTED]``, in the message, its arguments, the exception text and the stack) and
`ContextFilter` (the fields bound with `log_context` for the current task: job id, batch,
provider, remote id, state, key id, task, attempt). `JsonFormatter` writes them out::

    {"ts": "2025-01-01T02:00:00.123Z", "level": "INFO", "logger": "pipeline.submitting",
     "message": "submitted", "job_id": "…", "batch": "nightly-2025-01-01", "provider": "runway"}
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

from celery.signals import (
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
)

from config.redaction import Redactor
from config.settings import Settings
from wire.text import visible

CONTEXT_FIELDS = ("job_id", "batch", "provider", "remote_id", "state", "key_id", "task", "attempt")
CHATTY_LOGGERS = ("httpx", "httpcore")
"""Libraries that log every request at INFO (httpx: "HTTP Request: POST ... 200"): a few lines
per job that the job's history and the pipeline's own logs already cover. They log from
WARNING up, unless the configured level is DEBUG."""
JOB_ID = re.compile(r"[0-9a-f]{24}")

_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "restyle_log_context", default=MappingProxyType({})
)


class RedactingFilter(logging.Filter):
    """Scrubs a record's message, arguments, exception and stack text before any handler."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor(_message(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, self.redactor(value))
        return True


class ContextFilter(logging.Filter):
    """Copies the fields bound by `log_context` onto each record (explicit ``extra`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the context fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value if isinstance(value, int | float) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        # JSON escapes C0 controls itself; C1 controls (a lone 0x9b is CSI to some terminals),
        # bidi overrides and zero-width characters become \u escapes too: same text when read
        # back, inert when a `tail -f` shows it.
        return _JSON_UNSAFE.sub(_json_escape, json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """The plain-text format, with every control character of the message, the exception and
    the stack shown as its escape (`wire.text.visible`): a provider's failure text carrying
    ``ESC]52`` or ``ESC[2J`` is printed, never obeyed, and cannot forge a second log line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        safe.msg, safe.args = visible(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        safe.exc_info = None
        safe.exc_text = _visible_lines(record.exc_text) if record.exc_text else None
        safe.stack_info = _visible_lines(record.stack_info) if record.stack_info else None
        return super().format(safe)


def _visible_lines(text: str) -> str:
    """A traceback's lines kept as lines, each made visible."""
    return "\n".join(visible(line) for line in text.split("\n"))


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind ``fields`` (None values ignored) to every record logged inside the block."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields: {sorted(unknown)}")
    bound = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(bound)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, Any]:
    """The fields bound right now (read-only)."""
    return dict(_context.get())


def build_handler(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler with redaction, job context and the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(Redactor.from_settings(settings)))
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    handler.set_name("restyle")
    return handler


def configure_logging(
    settings: Settings, level: int | str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Replace the root logger's handlers with the restyle handler; return it.

    `CHATTY_LOGGERS` are set to WARNING, or back to the root's level at DEBUG.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = build_handler(settings, stream)
    root.addHandler(handler)
    root.setLevel(level or settings.log_level.upper())
    quiet = logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    logging.captureWarnings(True)
    return handler


def setup_celery_logging(settings: Settings) -> None:
    """Make Celery (worker and beat) log through `configure_logging`, with task context.

    Connected to ``setup_logging``, so Celery installs no handler of its own; the level is
    ``RESTYLE_LOG_LEVEL`` (one knob everywhere), not the command line's ``-l``. Each task's
    records carry its name, retry count and, when its first argument is a job id, the job id.
    A failed or retried task's exception and traceback are redacted in place before the worker
    reports them, so task events (Flower) and the result backend carry no secret either.
    """
    redactor = Redactor.from_settings(settings)

    def _setup(**_: Any) -> None:
        configure_logging(settings)

    def _scrub(exception: Any = None, reason: Any = None, einfo: Any = None, **_: Any) -> None:
        scrub_exception(redactor, exception or reason, einfo)

    setup_logging.connect(_setup, weak=False, dispatch_uid="restyle.logging.setup")
    task_prerun.connect(_bind_task, weak=False, dispatch_uid="restyle.logging.bind")
    task_postrun.connect(_unbind_task, weak=False, dispatch_uid="restyle.logging.unbind")
    task_failure.connect(_scrub, weak=False, dispatch_uid="restyle.logging.scrub_failure")
    task_retry.connect(_scrub, weak=False, dispatch_uid="restyle.logging.scrub_retry")


def scrub_exception(redactor: Redactor, exc: Any, einfo: Any = None) -> None:
    """Redact an exception's string arguments and a Celery ExceptionInfo's text, in place."""
    if isinstance(exc, BaseException):
        exc.args = tuple(redactor(a) if isinstance(a, str) else a for a in exc.args)
    if isinstance(getattr(einfo, "traceback", None), str):
        einfo.traceback = redactor(einfo.traceback)
    if einfo is not None and isinstance(getattr(einfo, "exception", None), BaseException):
        scrub_exception(redactor, einfo.exception)


_task_tokens: dict[str, Token[Mapping[str, Any]]] = {}


def _bind_task(task_id: str = "", task: Any = None, args: Any = None, **_: Any) -> None:
    first = args[0] if isinstance(args, list | tuple) and args else None
    fields = {
        **_context.get(),
        "task": getattr(task, "name", None),
        "attempt": getattr(getattr(task, "request", None), "retries", None),
        "job_id": first if isinstance(first, str) and JOB_ID.fullmatch(first) else None,
    }
    _task_tokens[task_id] = _context.set({k: v for k, v in fields.items() if v is not None})


def _unbind_task(task_id: str = "", **_: Any) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _context.reset(token)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):
        return f"{record.msg!s} {record.args!r}"


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
