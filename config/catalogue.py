"""What restyle knows about each provider: limits, prices, accepted values, retention.

Values marked "unconfirmed" follow ../shared/providers.md where it says [I] or [3P]; they live
here and nowhere else so they are easy to correct. Users override any of it per provider through
`ProviderSettings` (see `provider_spec`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from config.settings import ProviderName, Settings

FRIENDLY_RATIOS: tuple[str, ...] = ("16:9", "9:16", "4:3", "3:4", "1:1", "21:9")


class Price(BaseModel):
    """A provider's price: per second of output, per run, or both (with a minimum)."""

    model_config = ConfigDict(frozen=True)

    per_second_usd: float = 0.0
    per_run_usd: float = 0.0
    minimum_usd: float = 0.0

    def estimate(self, output_seconds: float) -> float:
        """Cost in USD of one job producing ``output_seconds`` of video."""
        cost = self.per_run_usd + self.per_second_usd * output_seconds
        return round(max(cost, self.minimum_usd), 4)


class InputLimits(BaseModel):
    """What a provider accepts as source video."""

    model_config = ConfigDict(frozen=True)

    max_bytes: int
    containers: tuple[str, ...] = ("mp4", "mov", "webm")
    max_source_seconds: float = 600.0
    # The shortest and longest input one edit takes are the model's `EditWindow`: a longer
    # source is cut into segments, a shorter one refused by its plan.


class ImageLimits(BaseModel):
    """What a provider accepts as a reference image: types (as sniffed) and size.

    Only vibedream documents its types (JPEG, PNG, GIF, WebP); nobody documents a size. The
    default (JPEG, PNG, WebP up to 16 MB) is Runway's rule for image inputs, assumed for the
    resellers: unconfirmed.
    """

    model_config = ConfigDict(frozen=True)

    types: tuple[str, ...] = ("jpeg", "png", "webp")  # unconfirmed but for vibedream
    max_bytes: int = 16 * 1024 * 1024  # unconfirmed for every provider


class EditWindow(BaseModel):
    """What one model edits of its input and what it hands back.

    ``min_seconds``/``max_seconds`` bound the input it edits; ``output_fps`` None keeps the input's
    frame rate; ``output_size`` "ratio" means the model's own frame size for the requested ratio
    (``frame`` for 16:9, turned for 9:16), "input" keeps the input's. The ``max_input_*`` fields
    are what the cutter normalises a segment into before a provider sees it.
    """

    model_config = ConfigDict(frozen=True)

    model: str
    min_seconds: float
    max_seconds: float
    output_fps: float | None
    output_size: Literal["ratio", "input"]
    frame: tuple[int, int] = (1280, 720)
    max_input_bytes: int
    max_input_side: int
    max_input_fps: float


_MB = 1024 * 1024

# "Only 5s of the input video will be used" (Runway's listing on Replicate); aimlapi's duration
# enum is [5]. Output 24 fps at the ratio's frame size (1280:720 for 16:9).
GEN4_ALEPH = EditWindow(
    model="gen4_aleph",
    min_seconds=1.0,  # unconfirmed
    max_seconds=5.0,
    output_fps=24.0,  # unconfirmed: Gen-4's usual rate
    output_size="ratio",
    max_input_bytes=16 * _MB,  # "Videos must be less than 16MB" (Replicate)
    max_input_side=1920,  # unconfirmed
    max_input_fps=30.0,  # unconfirmed
)
# Third-party, consistent across ComfyUI, WaveSpeed and Scenario: 2-30 s, <= 30 fps, < 16 MB, 1080p;
# the output matches the input's resolution and length.
ALEPH2 = EditWindow(
    model="aleph2",
    min_seconds=2.0,  # unconfirmed
    max_seconds=30.0,  # unconfirmed
    output_fps=None,  # unconfirmed
    output_size="input",
    max_input_bytes=16 * _MB,  # unconfirmed
    max_input_side=1920,  # unconfirmed
    max_input_fps=30.0,  # unconfirmed
)


class ProviderSpec(BaseModel):
    """Everything static about one provider, after the user's overrides."""

    model_config = ConfigDict(frozen=True)

    name: ProviderName
    base_url: str
    concurrency: int
    rate_per_s: float
    price: Price
    limits: InputLimits
    ratios: tuple[str, ...]
    accepts_seed: bool
    accepts_reference_image: bool
    retention_s: float
    typical_duration_s: float
    output_seconds: float = 5.0
    durations: tuple[int, ...] = (5,)  # accepted EditRequest.duration_s: Aleph outputs 5 s
    reference_image: ImageLimits = ImageLimits()
    model: str = "gen4_aleph"
    """The model the adapter asks for; ``RESTYLE_<P>__MODEL`` changes it when a provider
    renames it. Resellers that put the model in the path or spell it their own way keep it."""
    max_keyframes: int = 0
    """Timed guidance images (`EditRequest.keyframes`) one request may carry."""
    output_format: str | None = None
    """The output container asked for (Runway aleph2); None: the provider's only one."""
    format_surcharges_usd: dict[str, float] = {}
    """Extra USD per output second of each ``output_format``; counted in `effective_price`."""
    public_figure_threshold: str | None = None
    """Runway's moderation setting for recognisable public figures (``auto`` or ``low``)."""
    rate_limit_is_daily_cap: bool = False
    """A 429 at submit without Retry-After means the key's daily cap, not a request rate
    (Runway documents no other 429): the key's circuit opens for submits; its polls go on."""
    refreshes_output_urls: bool = False
    """A re-fetch of the finished task hands out fresh output URLs (Runway)."""
    daily_generations: int | None = None
    """The key's generations per rolling 24 h (None: no cap known). Runway's organization
    endpoint, read at worker start, replaces it."""
    credit_usd: float | None = None
    """USD per credit where the provider bills in credits (Runway: $0.01)."""
    reports_cost: bool = False
    """The provider says what each job cost (a bill), so spend is billed, not estimated."""
    honours_idempotency: bool = False
    """The provider documents honouring ``Idempotency-Key``: a re-send after a lost answer
    collects the first job instead of paying again (Comfy), so it is not flagged."""
    max_data_uri_bytes: int | None = None
    """The largest inline ``data:`` URI the provider takes for a video (Runway: 5 MB)."""

    @property
    def effective_price(self) -> Price:
        """``price`` with the chosen output format's per-second surcharge added."""
        extra = self.format_surcharges_usd.get(self.output_format or "", 0.0)
        if not extra:
            return self.price
        return self.price.model_copy(update={"per_second_usd": self.price.per_second_usd + extra})

    window: EditWindow = GEN4_ALEPH


CATALOGUE: dict[ProviderName, ProviderSpec] = {
    ProviderName.RUNWAY: ProviderSpec(
        name=ProviderName.RUNWAY,
        base_url="https://api.dev.runwayml.com",
        concurrency=2,  # tier 1: 1-2 concurrent tasks; GET /v1/organization says, at start
        rate_per_s=5.0,  # no documented request rate; be polite
        # aleph2 (gen4_aleph left Runway's API in 2026): about $0.28/s, third-party, unconfirmed
        price=Price(per_second_usd=0.28),
        # aleph2 takes 2-30 s and answers at the input's length and resolution (third-party,
        # unconfirmed); < 16 MB (third-party; Runway's input page allows 32 MB by URL).
        limits=InputLimits(max_bytes=16 * _MB),
        ratios=FRIENDLY_RATIOS,  # sent as targetAspectRatio, which letterboxes (outpaints)
        accepts_seed=True,
        accepts_reference_image=True,  # sent as a keyframe at 0 s
        retention_s=24 * 3600,  # "URLs expire within 24-48 hours"; a task re-fetch renews them
        typical_duration_s=180,
        output_seconds=30.0,  # the output is as long as the input, up to the 30 s window
        durations=(),
        model="aleph2",
        max_keyframes=5,
        output_format="mp4",
        # Non-mp4 surcharges from the SDK's docstring, at $0.01 a credit: 5 credits/s for
        # prores and png_sequence, 20 for sdr_rec709_10bit (40 above 4 MP: counted at 40,
        # because the estimate does not know the output's size).
        format_surcharges_usd={"prores": 0.05, "png_sequence": 0.05, "sdr_rec709_10bit": 0.40},
        daily_generations=None,  # tier 1: 50-200 a day; the organization endpoint says
        credit_usd=0.01,  # "credits cost $0.01 each" (docs.dev.runwayml.com/guides/setup)
        reports_cost=True,  # estimatedCost at create, cost when finished (SDK 5.x types)
        max_data_uri_bytes=5 * 1000 * 1000,  # inline data URIs: 5 MB for video
        refreshes_output_urls=True,  # "fetch the task again to get fresh URLs"
        rate_limit_is_daily_cap=True,  # "429 comes only from the daily cap"
        window=ALEPH2,
    ),
    ProviderName.SEGMIND: ProviderSpec(
        name=ProviderName.SEGMIND,
        base_url="https://api.segmind.com",
        concurrency=4,  # unconfirmed
        rate_per_s=5.0,  # unconfirmed
        price=Price(per_run_usd=1.125),  # third-party listing
        model="runway-gen4-aleph",  # in the path
        limits=InputLimits(max_bytes=16 * _MB),
        ratios=FRIENDLY_RATIOS,
        accepts_seed=True,
        accepts_reference_image=True,
        retention_s=3600,  # status and result kept 1 hour after submission
        typical_duration_s=170,
    ),
    ProviderName.AIMLAPI: ProviderSpec(
        name=ProviderName.AIMLAPI,
        base_url="https://api.aimlapi.com",
        concurrency=4,  # unconfirmed
        rate_per_s=5.0,  # unconfirmed
        price=Price(per_run_usd=1.00),  # unconfirmed: not in the docs repo
        model="runway/gen4_aleph",
        limits=InputLimits(max_bytes=32 * _MB),  # unconfirmed
        ratios=FRIENDLY_RATIOS,
        accepts_seed=True,
        accepts_reference_image=True,
        retention_s=24 * 3600,  # "URLs expire within 24-48 hours"
        typical_duration_s=210,
    ),
    ProviderName.VIBEDREAM: ProviderSpec(
        name=ProviderName.VIBEDREAM,
        base_url="https://api.vibedream.ai",
        concurrency=4,  # unconfirmed
        rate_per_s=5.0,  # unconfirmed
        price=Price(per_second_usd=0.18, minimum_usd=1.00),
        model="gen4-aleph",  # in the path
        limits=InputLimits(max_bytes=32 * _MB),  # size unconfirmed; formats documented
        ratios=("16:9", "9:16", "4:3", "3:4", "1:1"),
        accepts_seed=False,
        accepts_reference_image=True,
        reference_image=ImageLimits(types=("jpeg", "png", "gif", "webp")),  # documented
        retention_s=3600,  # unconfirmed: conservative
        typical_duration_s=60,
    ),
    ProviderName.CRUN: ProviderSpec(
        name=ProviderName.CRUN,
        base_url="https://api.crun.ai",
        concurrency=4,  # unconfirmed
        rate_per_s=5.0,  # unconfirmed
        price=Price(per_run_usd=1.00),  # unconfirmed: estimate-credits gives the real one
        model="runway/gen-4-aleph",
        limits=InputLimits(max_bytes=32 * _MB),  # unconfirmed
        ratios=FRIENDLY_RATIOS,  # unconfirmed: input.aspect_ratio is a guess
        accepts_seed=True,  # unconfirmed: input.seed is a guess
        accepts_reference_image=True,  # unconfirmed: input.img_urls is a guess
        retention_s=3600,  # unconfirmed: conservative
        typical_duration_s=200,
    ),
    # Aleph 2 through OpenRouter's video API (POST /api/v1/videos). Documented: the submit and
    # poll routes, the job id and polling_url, statuses, unsigned_urls, usage.cost (USD) once
    # completed, callback_url with signed deliveries. Unconfirmed: how a source video is sent
    # to runway/aleph-2 (input_references here), its limits, concurrency and rate.
    ProviderName.OPENROUTER: ProviderSpec(
        name=ProviderName.OPENROUTER,
        base_url="https://openrouter.ai",
        concurrency=4,  # unconfirmed
        rate_per_s=5.0,  # unconfirmed
        price=Price(per_second_usd=0.28),  # "about $0.28/s" for runway/aleph-2
        model="runway/aleph-2",
        limits=InputLimits(max_bytes=16 * _MB),  # unconfirmed: aleph2's
        ratios=FRIENDLY_RATIOS,  # unconfirmed
        accepts_seed=True,  # unconfirmed
        accepts_reference_image=False,  # unconfirmed: not sent
        retention_s=3600,  # unconfirmed: conservative
        typical_duration_s=180,
        output_seconds=30.0,
        durations=(),
        reports_cost=True,  # usage.cost on the finished job
        window=ALEPH2,
    ),
    # Comfy Router passes runway/aleph2 through: the body is Runway's own (without ``model``,
    # which the path names), queued delivery (POST .../requests answers 201 with request_id).
    # It documents honouring Idempotency-Key (a re-send collects the first run: "the replay is
    # not a second Comfy charge"). Unconfirmed: the status and result shapes, the price.
    ProviderName.COMFY: ProviderSpec(
        name=ProviderName.COMFY,
        base_url="https://api.comfy.org",
        concurrency=4,  # unconfirmed
        rate_per_s=5.0,  # unconfirmed
        price=Price(per_second_usd=0.28),  # unconfirmed: Runway's aleph2 price passed through
        model="aleph2",  # in the path: /v2/models/runway/aleph2
        limits=InputLimits(max_bytes=16 * _MB),  # unconfirmed
        ratios=FRIENDLY_RATIOS,
        accepts_seed=True,
        accepts_reference_image=True,  # a keyframe at 0 s, as on Runway
        retention_s=24 * 3600,  # keyed results are kept 24 hours
        typical_duration_s=180,
        output_seconds=30.0,
        durations=(),
        max_keyframes=5,
        honours_idempotency=True,  # documented: same key, same result, one charge
        max_data_uri_bytes=5 * 1000 * 1000,  # Runway's rule, passed through (unconfirmed)
        window=ALEPH2,
    ),
}


def provider_spec(name: ProviderName | str, settings: Settings) -> ProviderSpec:
    """The catalogue entry of ``name`` with the user's overrides from ``settings`` applied."""
    base = CATALOGUE[ProviderName(name)]
    user = settings.provider(name)
    updates: dict[str, object] = {}
    fields = ("base_url", "concurrency", "rate_per_s", "retention_s", "typical_duration_s",
              "model", "output_format", "daily_generations", "public_figure_threshold")  # fmt: skip
    for field in fields:
        value = getattr(user, field)
        if value is not None:
            updates[field] = value
    if user.price_per_second_usd is not None or user.price_per_run_usd is not None:
        updates["price"] = Price(
            per_second_usd=user.price_per_second_usd or 0.0,
            per_run_usd=user.price_per_run_usd or 0.0,
        )
    return base.model_copy(update=updates)
