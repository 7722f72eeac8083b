"""Names `vulture` (make lint) reports as unused that are used, each with why.

vulture reads the packages, not tests/: a name only tests use is dead code unless it is test
infrastructure (devstack/, the emulator's admin client, sample clips) or a hook a framework
calls. Add a name here only with its reason.
"""

# Frameworks call these: pydantic settings and models read fields by name, http.server and
# file-object protocols call methods by name.
segmind, aimlapi, vibedream, crun, openrouter, comfy  # Settings' provider blocks, read through
# Settings.provider()
readable  # io protocol (media.remote.RangeReader, storage.parts), called by PyAV and boto3
rate_limited, server_error, bad_gateway, unavailable, malformed  # emulator FaultRates knobs
reference_url, public_figure_threshold, content_moderation  # accepted request fields
prompt_summary, total_jobs, key_count, max_source_bytes, etag  # fields shown or serialised
noop  # bench.noop_app's task, sent by name

# Test and benchmark infrastructure (a product feature, or the devstack the tests run on).
EmulatorAdmin, limit_key, accept_keys  # emulator.client: the admin API's client
generated_sha256, bytes_sent  # devstack.byteserver
make_authority, start_secure_redis  # devstack.secure_redis: Redis with TLS and an ACL user
lua_extend  # redis-py's Lock runs it on extend (workers.beat_scheduler sets RedBeat's own)
describe_clip, frame_difference  # media.samples: sample clips for the demo, tests and emulator
cancelled, last_event_s, redis_restarts, s3_outages, maintenance_windows, beat_restarts
worker_deaths  # bench.chaos tallies, written to its JSON line

# Read APIs of the ledger, budgets, schedules and logs that operators' tools use.
remaining_usd, require, read_manifest, scheduled_entries
log_context, current_context, redact
FATAL_BY_KIND  # the documented tree's kind -> class map, checked by tests/providers/test_errors
set_cooldown  # a cooldown without a rate cut: daily caps and circuit breakers
CallbackReceiver, parse_callback  # crun callbacks (the web service receives them)
should_exit  # uvicorn.Server reads it to stop (bench and test servers)
collect  # prometheus_client calls a registered collector's collect()
used_today  # part of the tier Runway reports, shown by restyle limits
thread_type, pict_type, bit_rate  # PyAV codec-context and frame attributes, read by FFmpeg
billed_seconds, start_s  # clip plan facts shown by restyle status --json and the tests
freeze  # devstack.sentinel: stops a node (SIGSTOP) for the replication tests
write_token  # Job field: a retried compare-and-set recognises its own write by it
stretch  # media.conform: how far a conform plan is from a uniform scale (tests)
OutageTolerantScheduler  # named on beat's command line (-S workers.beat_scheduler...)
clips_total, segments_by_state  # restyle status --json and the clip roll-up, read by tools
