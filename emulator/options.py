"""Command-line flags and ``RESTYLE_EMULATOR_*`` environment variables -> `EmulatorConfig`.

Each flag ``--some-flag`` may also come from ``RESTYLE_EMULATOR_SOME_FLAG`` (flags win; repeatable
flags take a comma-separated list). Order of application: preset, then ``--config`` (a JSON
partial update), then ``--set`` items, then the named flags.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config.settings import ProviderName
from emulator.config import Distribution, EmulatorConfig, key_id
from emulator.presets import preset

ENV_PREFIX = "RESTYLE_EMULATOR_"
REPEATABLE = ("set", "fault", "accept_key")


@dataclass(frozen=True)
class Options:
    """Where to listen and with which knobs."""

    host: str
    port: int
    config: EmulatorConfig


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    add = parser.add_argument
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=8900)
    add("--preset", default="realistic", help="realistic, calm, tight or chaos")
    add("--processing-time", help="seconds per job: S (fixed) or MIN:MAX (uniform)")
    add("--concurrency", type=int, help="jobs at once per key, every provider")
    add("--rate-per-s", type=float, help="requests per second per key, every provider")
    add("--retention-s", type=float, help="output URL lifetime, every provider")
    add("--record-ttl-s", type=float, help="how long jobs can be polled, every provider")
    add("--fault", action="append", default=[], help="CLASS=RATE, e.g. rate_limited=0.1")
    add("--accept-key", action="append", default=[], help="PROVIDER=KEY (restricts auth)")
    add(
        "--honour-idempotency",
        action="store_true",
        help="replay a repeated Idempotency-Key (no provider documents it; ignored by default)",
    )
    add("--no-idempotency", action="store_true", help="ignore Idempotency-Key (the default)")
    add("--no-drift", action="store_true", help="render every job with the same look")
    add("--output-padding-bytes", type=int, help="MP4 free box appended to every output")
    add("--moderation-keyword", help="prompts containing it fail moderation")
    add("--seed", type=int, help="seed of the fault dice")
    add("--render-workers", type=int, help="render processes")
    add("--public-url", help="base URL written into status and output URLs")
    add("--config", help="a JSON partial update of the knobs")
    add("--set", action="append", default=[], help="dotted.path=JSON, e.g. faults.slow=0.1")
    return parser


def _env_defaults(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    for action in parser._actions:
        name = action.dest
        value = environ.get(ENV_PREFIX + name.upper())
        if value is None or name == "help":
            continue
        if name in REPEATABLE:
            parser.set_defaults(**{name: [item for item in value.split(",") if item]})
        elif isinstance(action, argparse._StoreTrueAction):
            parser.set_defaults(**{name: value.lower() in ("1", "true", "yes")})
        else:
            parser.set_defaults(**{name: action.type(value) if action.type else value})  # type: ignore[operator]


def parse_options(argv: Sequence[str], environ: Mapping[str, str]) -> Options:
    """Options from ``argv`` (without the program name) and ``environ``."""
    parser = _parser()
    _env_defaults(parser, environ)
    args = parser.parse_args(list(argv))
    try:
        config = build_config(args)
    except (KeyError, ValueError) as exc:
        parser.error(str(exc))
    return Options(args.host, args.port, config)


def _dotted(path: str, value: Any) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    node = patch
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return patch


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _every_provider(**knobs: Any) -> dict[str, Any]:
    return {"providers": {name.value: dict(knobs) for name in ProviderName}}


def _flag_patches(args: argparse.Namespace) -> list[dict[str, Any]]:
    patches: list[dict[str, Any]] = []
    for item in args.set:
        path, _, value = item.partition("=")
        patches.append(_dotted(path, _json_or_text(value)))
    for item in args.fault:
        name, _, rate = item.partition("=")
        patches.append({"faults": {name: float(rate)}})
    for flag in ("concurrency", "rate_per_s", "retention_s", "record_ttl_s"):
        if getattr(args, flag) is not None:
            patches.append(_every_provider(**{flag: getattr(args, flag)}))
    if args.processing_time:
        processing = Distribution.parse(args.processing_time).model_dump()
        patches.append({"processing": processing, **_every_provider(processing=None)})
    return patches


def _simple_patch(args: argparse.Namespace) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for flag in (
        "output_padding_bytes",
        "moderation_keyword",
        "seed",
        "render_workers",
        "public_url",
    ):
        if getattr(args, flag) is not None:
            patch[flag] = getattr(args, flag)
    if args.honour_idempotency:
        patch["honour_idempotency_key"] = True
    if args.no_idempotency:
        patch["honour_idempotency_key"] = False
    if args.no_drift:
        patch["drift"] = {"enabled": False}
    return patch


def _accepted(items: list[str]) -> dict[str, Any]:
    accepted: dict[str, list[str]] = {}
    for item in items:
        provider, _, key = item.partition("=")
        accepted.setdefault(ProviderName(provider).value, []).append(key_id(key))
    return {"providers": {name: {"accepted_key_ids": ids} for name, ids in accepted.items()}}


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """The preset with every update from the parsed flags applied."""
    config = preset(args.preset)
    if args.config:
        config = config.updated(json.loads(args.config))
    for patch in [*_flag_patches(args), _simple_patch(args), _accepted(args.accept_key)]:
        config = config.updated(patch)
    return config
