"""The emulator's pure parts: options, presets, fault arithmetic, tokens, store, render."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from config.catalogue import ALEPH2
from config.settings import ProviderName
from emulator.config import Distribution, FaultRates, deep_merge, key_id
from emulator.faults import Fault, Injections, RateWindow, draw_plan, retry_after_header
from emulator.fetch import FetchError, decode_data_uri
from emulator.glyphs import text_mask
from emulator.jobs import EditSpec, Phase, RemoteJob, phase_at, progress_at
from emulator.options import parse_options
from emulator.outputs import Signer, free_box_header, padding_size
from emulator.presets import PRESETS, preset
from emulator.render import RenderError, output_size, render_edit
from emulator.store import JobStore


def test_flags_override_the_preset() -> None:
    argv = [
        "--port", "9000", "--preset", "calm", "--processing-time", "0.1:0.4",
        "--concurrency", "3", "--fault", "server_error=0.5", "--no-idempotency",
        "--accept-key", "crun=secret", "--set", "providers.runway.retention_s=60",
        "--output-padding-bytes", "100",
    ]  # fmt: skip
    options = parse_options(argv, {})
    config = options.config
    assert options.port == 9000
    assert config.processing == Distribution(min_s=0.1, max_s=0.4)
    assert all(knobs.concurrency == 3 for knobs in config.providers.values())
    assert config.faults.server_error == 0.5
    assert config.honour_idempotency_key is False
    assert config.providers[ProviderName.CRUN].accepted_key_ids == (key_id("secret"),)
    assert config.providers[ProviderName.RUNWAY].retention_s == 60
    assert config.output_padding_bytes == 100


def test_environment_variables_fill_in_missing_flags() -> None:
    environ = {
        "RESTYLE_EMULATOR_PRESET": "chaos",
        "RESTYLE_EMULATOR_PROCESSING_TIME": "2",
        "RESTYLE_EMULATOR_FAULT": "slow=0.25,dropped=0",
        "RESTYLE_EMULATOR_NO_IDEMPOTENCY": "true",
    }
    config = parse_options(["--processing-time", "5"], environ).config
    assert config.preset == "chaos"
    assert config.processing == Distribution(min_s=5, max_s=5)
    assert (config.faults.slow, config.faults.dropped) == (0.25, 0.0)
    assert config.honour_idempotency_key is False


def test_idempotency_keys_are_ignored_by_default_and_honoured_on_request() -> None:
    assert parse_options([], {}).config.honour_idempotency_key is False
    assert parse_options(["--honour-idempotency"], {}).config.honour_idempotency_key is True
    environ = {"RESTYLE_EMULATOR_HONOUR_IDEMPOTENCY": "true"}
    assert parse_options([], environ).config.honour_idempotency_key is True


def test_the_realistic_default_looks_like_the_real_services() -> None:
    config = parse_options([], {}).config
    runway = config.providers[ProviderName.RUNWAY]
    assert config.processing_for(ProviderName.SEGMIND).min_s >= 60
    assert runway.concurrency == 2
    assert config.providers[ProviderName.SEGMIND].record_ttl_s == 3600


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_a_config_for_all_providers(name: str) -> None:
    config = preset(name)
    assert config.preset == name
    assert set(config.providers) == set(ProviderName)


def test_an_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="calm"):
        preset("stormy")


def test_deep_merge_merges_nested_dicts_and_replaces_the_rest() -> None:
    merged = deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"c": 3}, "d": [2]})
    assert merged == {"a": {"b": 1, "c": 3}, "d": [2]}


def test_a_partial_update_is_validated() -> None:
    config = preset("calm")
    with pytest.raises(ValidationError):
        config.updated({"processing": {"min_s": 5, "max_s": 1}})
    assert config.updated({"keys": {"abc": {"credits": 3}}}).key("abc").credits == 3


def test_the_rate_window_admits_up_to_the_rate_then_says_how_long_to_wait() -> None:
    window = RateWindow()
    assert [window.admit("k", 2.0, 10.0 + i * 0.1) for i in range(2)] == [None, None]
    wait = window.admit("k", 2.0, 10.3)
    assert wait == pytest.approx(0.7)
    assert window.admit("k", 2.0, 11.01) is None
    assert window.admit("other", 2.0, 10.3) is None


def test_a_fractional_rate_spreads_requests_out() -> None:
    window = RateWindow()
    assert window.admit("k", 0.5, 0.0) is None
    assert window.admit("k", 0.5, 1.0) == pytest.approx(1.0)
    assert window.admit("k", 0.5, 2.0) is None


def test_fault_plans_follow_the_rates() -> None:
    rng = random.Random(1)
    assert draw_plan(FaultRates(), rng).reject is None
    assert draw_plan(FaultRates(bad_gateway=1.0), rng).reject is Fault.BAD_GATEWAY
    plan = draw_plan(FaultRates(slow=1.0, slow_s=3, timeout=1.0, timeout_s=9), rng)
    assert (plan.delay_s, plan.after, plan.hold_s) == (3, Fault.TIMEOUT, 9)
    half = [draw_plan(FaultRates(server_error=0.5), rng).reject for _ in range(400)]
    assert 120 < half.count(Fault.SERVER_ERROR) < 280


def test_injections_count_down_and_windows_close() -> None:
    injections = Injections()
    injections.rate_limit("k", 2, 4.0)
    assert [injections.take_rate_limit("k") for _ in range(3)] == [4.0, 4.0, None]
    injections.maintenance([ProviderName.CRUN], until=100.0)
    assert injections.maintenance_left(ProviderName.CRUN, 40.0) == 60.0
    assert injections.maintenance_left(ProviderName.CRUN, 100.0) is None
    assert injections.maintenance_left(ProviderName.RUNWAY, 40.0) is None
    assert retry_after_header(0.2) == "1" and retry_after_header(2.1) == "3"


def test_tokens_carry_their_expiry_and_cannot_be_forged() -> None:
    signer = Signer(b"secret")
    token = signer.token("segmind", "job-1", expires_at=100.0)
    assert signer.check("segmind", token, now=99.0) is not None
    assert signer.check("segmind", token, now=100.0) is None
    assert signer.check("runway", token, now=99.0) is None
    assert signer.check("segmind", token.replace("100000", "200000"), now=99.0) is None
    assert Signer(b"other").check("segmind", token, now=99.0) is None


def test_free_boxes_use_a_64_bit_size_past_4_gib() -> None:
    assert free_box_header(16) == b"\x00\x00\x00\x10free"
    assert free_box_header(2**33) == b"\x00\x00\x00\x01free" + (2**33).to_bytes(8, "big")
    assert (padding_size(0), padding_size(3), padding_size(500)) == (0, 8, 500)


def test_data_uris_decode_and_are_size_checked() -> None:
    assert decode_data_uri("data:video/mp4;base64,aGVsbG8=", 10) == b"hello"
    assert decode_data_uri("data:,a%20b", 10) == b"a b"
    with pytest.raises(FetchError):
        decode_data_uri("data:video/mp4;base64,aGVsbG8=", 3)
    with pytest.raises(FetchError):
        decode_data_uri("data:no-comma", 10)


def _job(job_id: str, started: float | None = None) -> RemoteJob:
    spec = EditSpec(prompt="p", video_url="data:,x")
    job = RemoteJob(job_id, ProviderName.RUNWAY, "k", spec, {}, 0.0, 10.0)
    job.started_at = started
    return job


def test_phases_and_progress_follow_the_clock() -> None:
    job = _job("a")
    assert phase_at(job, 5.0) is Phase.THROTTLED and progress_at(job, 5.0) == 0.0
    job.started_at = 100.0
    assert phase_at(job, 101.0) is Phase.QUEUED
    assert phase_at(job, 105.0) is Phase.RUNNING and progress_at(job, 105.0) == 0.5
    assert progress_at(job, 500.0) == 0.99
    job.final = Phase.SUCCEEDED
    assert phase_at(job, 105.0) is Phase.SUCCEEDED and progress_at(job, 105.0) == 1.0


def test_the_progress_exponent_curves_reported_progress() -> None:
    job = _job("curved", started=100.0)
    job.progress_exponent = 2.0
    assert progress_at(job, 105.0) == 0.25
    job.progress_exponent = 0.5
    assert progress_at(job, 102.5) == 0.5


def test_the_store_hands_a_freed_slot_to_the_oldest_waiting_job() -> None:
    store = JobStore()
    running, first, second = _job("r", 0.0), _job("w1"), _job("w2")
    for job in (running, first, second):
        store.add(job)
    store.occupy(running)
    store.enqueue(first)
    store.enqueue(second)
    assert store.vacate(running) is first
    store.occupy(first)
    assert store.peak[running.slot] == 1
    second.final = Phase.CANCELLED
    assert store.vacate(first) is None


def test_output_sizes_are_the_models_frames_and_even() -> None:
    assert output_size((16, 9), (1920, 1080)) == (1280, 720)
    assert output_size((9, 16), (1920, 1080)) == (720, 1280)
    assert output_size((21, 9), (1, 1)) == (1584, 672)
    assert output_size(None, (640, 480)) == (960, 720)
    assert output_size((16, 9), (641, 481), ALEPH2) == (640, 480)


def test_garbage_does_not_render() -> None:
    with pytest.raises(RenderError):
        render_edit(b"\x00" * 1000, "prompt")


def test_text_masks_draw_capitals_and_replace_unknown_characters() -> None:
    mask = text_mask("a~", scale=1)
    assert mask.shape == (7, 11)
    assert (text_mask("A~", scale=1) == mask).all()
    assert (text_mask("?", scale=1) == mask[:, 6:]).all()
