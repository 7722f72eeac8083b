"""The provider emulator: one HTTP server speaking all five hosted Aleph wire protocols.

Start it with ``python -m emulator --host 127.0.0.1 --port 8900 [--preset calm]`` (flags and
``RESTYLE_EMULATOR_*`` variables: see `emulator.options`) or ``emulator.server.serve(host, port,
emulator.presets.preset("calm"))``. Point a client's base URL at ``http://host:port/<provider>``:

========== ================================= ===============================================
provider   base URL                          paths below it
========== ================================= ===============================================
runway     ``/runway``                       POST /v1/video_to_video, GET|DELETE /v1/tasks/{id}
segmind    ``/segmind/v1`` (SDK base_url)    POST /v2/runway-gen4-aleph, GET /v2/requests/{id}
                                             [/status], GET /v1/requests/{id}, POST /v1/{slug}
aimlapi    ``/aimlapi``                      POST|GET /v2/video/generations,
                                             POST|GET /v2/generate/video/runway/generation
vibedream  ``/vibedream``                    POST /api/v1/models/gen4-aleph/generate,
                                             GET /api/v1/predictions/{id}
crun       ``/crun``                         POST /api/v1/client/job/CreateTask,
                                             GET /api/v1/client/job/TaskInfo?task_id=,
                                             POST /api/v1/client/job/estimate-credits
========== ================================= ===============================================

Outputs are served at ``/<provider>/_files/<token>.mp4`` (GET and HEAD, video/mp4 with
Content-Length); the token carries its expiry, after which the URL answers 404.

Admin API (JSON; `emulator.client.EmulatorAdmin` wraps it):

- ``GET /_emulator/health`` -> ``{"status": "ok", "preset": ...}``
- ``GET /_emulator/stats`` -> ``requests`` {provider: {"METHOD /path": {status: n}}} (a dropped
  connection counts as status ``"dropped"``), ``requests_total``, ``jobs_by_state`` {provider:
  {throttled|queued|running|succeeded|failed|cancelled: n}}, ``peak_concurrent`` and
  ``current_concurrent`` {provider: {key_id: n}}, ``submissions`` {``requests``, ``paid_total``,
  ``paid_by_provider``, ``replayed``, ``by_idempotency_key`` (paid jobs per Idempotency-Key),
  ``requests_by_idempotency_key``, ``by_key_and_body`` (paid jobs per hash of key + body),
  ``duplicates`` [{kind, id, paid}] (anything paid more than once)}, ``requests_per_second``
  {provider: {key_id: {unix_second: n}}}, ``max_requests_per_second``, ``rate_limited_total``
  (429s sent), ``faults`` {class: n}, ``callbacks_sent``, ``callbacks_failed``, ``renders``,
  ``credits_spent`` {key_id: jobs}.
- ``POST /_emulator/reset`` drops jobs, counters and injected faults and restores the start-up
  knobs; answers the config.
- ``GET /_emulator/config``; ``POST /_emulator/config`` with a partial JSON update (nested
  objects merge), answers the full config or 422 ``{"error": ...}``. See `EmulatorConfig`.
- ``POST /_emulator/preset`` ``{"name": "chaos"}``: realistic, calm, tight, chaos.
- ``POST /_emulator/keys`` ``{"key" | "key_id", "concurrency", "rate_per_s", "credits"}``:
  per-key limits (None: unlimited); ``credits`` is how many jobs the key can still pay for.
- ``POST /_emulator/accept`` ``{"provider", "keys": [...] | null, "key_ids": [...]}``.
- ``POST /_emulator/inject/rate-limit`` ``{"key" | "key_id", "count", "retry_after_s"}``: the
  key's next ``count`` requests get 429 with that Retry-After.
- ``POST /_emulator/inject/maintenance`` ``{"provider" (omit: all), "duration_s",
  "retry_after" (default true)}``: crun answers 455, the others 503, with Retry-After (none when
  ``retry_after`` is false), until the window closes.
- ``GET /_emulator/jobs``: every kept remote job (id, provider, key_id, state, idempotency_key,
  and its clock: ``created_at``, ``duration_s``, ``started_at`` and ``finished_at``, unix
  seconds, null until it started or ended).

Keys are never stored or shown: per-key knobs and stats use ``key_id`` (the first 12 hex digits
of the key's SHA-256, as ``config.settings.key_id``).

Behaviour and assumptions:

- Any non-empty key is accepted unless ``accepted_key_ids`` is set; Runway also needs
  ``X-Runway-Version: 2024-11-06`` (400 otherwise).
- Validation happens at submit (the provider's 4xx and error body); the input video is fetched
  after the submit was accepted, so an unfetchable or undecodable input becomes a failed job in
  the provider's words (Runway ``ASSET.INVALID``, segmind 422 FAILED, ...), never a 4xx.
- ``honour_idempotency_key`` (default false, as every real provider documents it: none of them
  honours the header): when true (``--honour-idempotency``), a repeated submit with the same
  Idempotency-Key and API key, while the job is kept, returns the original job without
  charging again.
- Runway serves ``aleph2`` and refuses ``gen4_aleph`` (400 ``{"error", "issues"}``); it HEADs
  the input URL at submit (``check_input_url``): no redirect, a ``video/*`` Content-Type and a
  Content-Length, https (plain http only to loopback hosts). ``daily_generations`` caps paid
  jobs per key in a rolling ``daily_window_s`` (24 h): over it Runway answers 429.
  ``GET /v1/organization`` reports the key's tier (concurrency, daily cap), usage and credits.
- Over a key's ``concurrency``, Runway queues tasks as THROTTLED; the others answer 429 with
  Retry-After. ``rate_per_s`` limits every API request of a key (429 with Retry-After).
- Insufficient credits: Runway 400, segmind 406, aimlapi 403, vibedream and crun 402.
- A prompt containing ``moderation_keyword`` (default "forbidden") fails moderation.
- Bad outputs (`emulator.defects`): a job SUCCEEDS and is paid, but its file is black, frozen,
  truncated (half its frames), the input unedited, blurred (a moderation filter's smear) or
  not a video (an HTML page). Per job by a prompt marker ``[bad:<defect>]`` (every render of
  that prompt), or by the ``bad_outputs`` knob: ``POST /_emulator/config {"bad_outputs":
  [{"match": "noir", "defect": "black", "times": 1}]}`` gives the first ``times`` jobs (null:
  all) whose prompt contains ``match`` that defect; new rules count afresh.
- A mismatched ratio: gen4_aleph draws whatever frame it is sent onto its ratio's own frame
  (1280x720 for 16:9), stretching it, as no provider documents otherwise; restyle pads the
  source to the ratio it sends (`media.conform`).
- ``echo_credentials`` (default false; ``POST /_emulator/config {"echo_credentials": true}``):
  every error body and every failed remote job's reason quotes the caller's credential header,
  as some real APIs do (`emulator.echo`).
- Drift (``drift``, on by default; ``--no-drift`` or ``{"drift": {"enabled": false}}`` turns
  it off): each render draws its own colour cast, brightness, contrast and grain from its
  input, prompt and seed, as a real model's renders differ from one call to the next, so a
  stitched clip shows its seams; a reference image or keyframes shrink it (`emulator.drift`).
- Retention: output URLs work ``retention_s`` (segmind from submission, Runway from each task
  fetch, which hands out fresh URLs, the others from completion); jobs can be polled for
  ``record_ttl_s`` from submission (segmind: 1 hour, then 404).
"""
