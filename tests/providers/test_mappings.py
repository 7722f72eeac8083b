"""Each provider's request mapping: exact wire bodies, and refusals before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from config.catalogue import CATALOGUE, ProviderSpec, provider_spec
from config.settings import ProviderName, Settings
from jobs.request import EditRequest, Keyframe
from providers import aimlapi, crun, runway, segmind, vibedream
from providers.errors import InvalidRequest

Builder = Callable[[EditRequest, ProviderSpec], dict[str, Any]]

FULL = EditRequest(
    video_url="https://example.com/in.mp4",
    prompt="make it winter",
    aspect_ratio="16:9",
    seed=42,
    reference_image_url="https://example.com/ref.jpg",
)
MINIMAL = EditRequest(video_url="https://example.com/in.mp4", prompt="make it winter")

BUILDERS: dict[ProviderName, Builder] = {
    ProviderName.RUNWAY: runway.build_submit_body,
    ProviderName.SEGMIND: segmind.build_submit_body,
    ProviderName.AIMLAPI: aimlapi.build_submit_body,
    ProviderName.VIBEDREAM: vibedream.build_submit_body,
    ProviderName.CRUN: crun.build_submit_body,
}


@pytest.mark.parametrize(
    ("provider", "request_", "expected"),
    [
        (
            ProviderName.RUNWAY,
            FULL,
            {
                "model": "aleph2",
                "videoUri": "https://example.com/in.mp4",
                "promptText": "make it winter",
                "targetAspectRatio": "16:9",
                "seed": 42,
                "keyframes": [{"seconds": 0.0, "uri": "https://example.com/ref.jpg"}],
                "outputFormat": "mp4",
            },
        ),
        (
            ProviderName.RUNWAY,
            MINIMAL,
            {
                "model": "aleph2",
                "videoUri": "https://example.com/in.mp4",
                "promptText": "make it winter",
                "outputFormat": "mp4",
            },
        ),
        (
            ProviderName.SEGMIND,
            FULL.model_copy(update={"aspect_ratio": "9:16"}),
            {
                "prompt": "make it winter",
                "video": "https://example.com/in.mp4",
                "aspect_ratio": "9:16",
                "seed": 42,
                "reference_image": "https://example.com/ref.jpg",
            },
        ),
        (
            ProviderName.AIMLAPI,
            FULL.model_copy(update={"duration_s": 5}),
            {
                "model": "runway/gen4_aleph",
                "prompt": "make it winter",
                "video_url": "https://example.com/in.mp4",
                "frame_size": "1280:720",
                "duration": 5,
                "seed": 42,
                "references": [{"type": "image", "url": "https://example.com/ref.jpg"}],
            },
        ),
        (
            ProviderName.AIMLAPI,
            MINIMAL,
            {
                "model": "runway/gen4_aleph",
                "prompt": "make it winter",
                "video_url": "https://example.com/in.mp4",
            },
        ),
        (
            ProviderName.VIBEDREAM,
            FULL.model_copy(update={"seed": None}),
            {
                "prompt": "make it winter",
                "video": "https://example.com/in.mp4",
                "aspect_ratio": "16:9",
                "reference_image": "https://example.com/ref.jpg",
            },
        ),
        (
            ProviderName.CRUN,
            FULL,
            {
                "model": "runway/gen-4-aleph",
                "input": {
                    "prompt": "make it winter",
                    "video_url": "https://example.com/in.mp4",
                    "aspect_ratio": "16:9",
                    "seed": 42,
                    "img_urls": ["https://example.com/ref.jpg"],
                },
            },
        ),
    ],
)
def test_requests_map_to_the_documented_wire_fields(
    provider: ProviderName, request_: EditRequest, expected: dict[str, Any]
) -> None:
    assert BUILDERS[provider](request_, CATALOGUE[provider]) == expected


@pytest.mark.parametrize(
    ("friendly", "pixels"),
    [
        ("16:9", "1280:720"),
        ("9:16", "720:1280"),
        ("4:3", "1104:832"),
        ("3:4", "832:1104"),
        ("1:1", "960:960"),
        ("21:9", "1584:672"),
    ],
)
def test_friendly_ratios_become_pixel_ratios_on_aimlapi_and_stay_friendly_on_runway(
    friendly: str, pixels: str
) -> None:
    request = MINIMAL.model_copy(update={"aspect_ratio": friendly})
    body = runway.build_submit_body(request, CATALOGUE[ProviderName.RUNWAY])
    assert (body["targetAspectRatio"], "ratio" in body) == (friendly, False)  # ratio: deprecated
    body = aimlapi.build_submit_body(request, CATALOGUE[ProviderName.AIMLAPI])
    assert body["frame_size"] == pixels


def test_crun_asks_for_a_callback_when_given_one() -> None:
    body = crun.build_submit_body(MINIMAL, CATALOGUE[ProviderName.CRUN], "https://me/cb")
    assert body["callback_url"] == "https://me/cb"


@pytest.mark.parametrize(
    ("provider", "update", "field", "allowed"),
    [
        (
            ProviderName.VIBEDREAM,
            {"aspect_ratio": "21:9"},
            "aspect_ratio",
            ("16:9", "9:16", "4:3", "3:4", "1:1"),
        ),
        (ProviderName.VIBEDREAM, {"seed": 7}, "seed", ()),
        (ProviderName.RUNWAY, {"duration_s": 10}, "duration_s", ()),
        (
            ProviderName.RUNWAY,
            {
                "reference_image_url": "https://example.com/ref.jpg",
                "keyframes": [
                    Keyframe(seconds=n, uri="https://example.com/k.jpg") for n in range(5)
                ],
            },
            "keyframes",
            ("at most 5 images, reference image included",),
        ),
        (
            ProviderName.SEGMIND,
            {"keyframes": [Keyframe(seconds=1, uri="https://example.com/k.jpg")]},
            "keyframes",
            ("at most 0 images, reference image included",),
        ),
        (ProviderName.AIMLAPI, {"duration_s": 4}, "duration_s", ("5",)),
        (ProviderName.SEGMIND, {"video_url": "ftp://x/in.mp4"}, "video_url", None),
        (ProviderName.CRUN, {"reference_image_url": "/tmp/ref.jpg"}, "reference_image_url", None),
    ],
)
def test_what_a_provider_cannot_take_is_refused_naming_field_and_allowed_values(
    provider: ProviderName,
    update: dict[str, Any],
    field: str,
    allowed: tuple[str, ...] | None,
) -> None:
    request = MINIMAL.model_copy(update=update)
    with pytest.raises(InvalidRequest) as caught:
        BUILDERS[provider](request, CATALOGUE[provider])
    error = caught.value
    assert (error.provider, error.field) == (provider.value, field)
    assert str(error).startswith(f"{provider.value}: {field}=")
    assert "allowed values:" in str(error)
    if allowed is not None:
        assert error.allowed == allowed


def test_runway_counts_the_prompt_in_utf16_code_units() -> None:
    spec = CATALOGUE[ProviderName.RUNWAY]
    runway.validate_request(MINIMAL.model_copy(update={"prompt": "é" * 1000}), spec)
    with pytest.raises(InvalidRequest) as caught:
        runway.validate_request(MINIMAL.model_copy(update={"prompt": "🎬" * 501}), spec)
    assert caught.value.field == "prompt"


def test_a_catalogue_override_changes_what_is_accepted() -> None:
    spec = CATALOGUE[ProviderName.SEGMIND].model_copy(update={"accepts_seed": False})
    with pytest.raises(InvalidRequest):
        segmind.validate_request(FULL, spec)
    segmind.validate_request(FULL, CATALOGUE[ProviderName.SEGMIND])


@pytest.mark.parametrize(
    "data",
    [
        {"video_url": "https://x/a.mp4", "prompt": ""},
        {"video_url": "https://x/a.mp4", "prompt": "x" * 1001},
        {"video_url": "https://x/a.mp4", "prompt": "p", "seed": -1},
        {"video_url": "https://x/a.mp4", "prompt": "p", "seed": 4_294_967_296},
        {"video_url": "https://x/a.mp4", "prompt": "p", "aspect_ratio": "2:1"},
    ],
)
def test_the_common_request_rejects_out_of_range_values(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        EditRequest.model_validate(data)


def test_runway_sends_its_catalogue_model_and_keyframes_in_time_order() -> None:
    spec = CATALOGUE[ProviderName.RUNWAY].model_copy(update={"model": "aleph3"})
    request = FULL.model_copy(
        update={"keyframes": (Keyframe(seconds=12.5, uri="https://example.com/late.jpg"),)}
    )
    body = runway.build_submit_body(
        request, spec.model_copy(update={"public_figure_threshold": "low"})
    )
    assert body["model"] == "aleph3"
    assert body["contentModeration"] == {"publicFigureThreshold": "low"}
    assert body["keyframes"] == [
        {"seconds": 0.0, "uri": "https://example.com/ref.jpg"},
        {"seconds": 12.5, "uri": "https://example.com/late.jpg"},
    ]


def test_a_non_mp4_output_format_costs_its_surcharge_per_second_in_the_estimate() -> None:
    spec = CATALOGUE[ProviderName.RUNWAY]
    prores = spec.model_copy(update={"output_format": "prores"})
    assert runway.build_submit_body(MINIMAL, prores)["outputFormat"] == "prores"
    assert spec.effective_price.estimate(12) == pytest.approx(0.28 * 12)
    assert prores.effective_price.estimate(12) == pytest.approx((0.28 + 0.05) * 12)


def test_the_model_and_output_format_are_settings_over_the_catalogue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RESTYLE_RUNWAY__MODEL", "aleph3")
    monkeypatch.setenv("RESTYLE_RUNWAY__OUTPUT_FORMAT", "sdr_rec709_10bit")
    spec = provider_spec(ProviderName.RUNWAY, Settings())
    assert (spec.model, spec.output_format) == ("aleph3", "sdr_rec709_10bit")
    assert spec.effective_price.per_second_usd == pytest.approx(0.28 + 0.40)
    assert provider_spec(ProviderName.AIMLAPI, Settings()).model == "runway/gen4_aleph"
