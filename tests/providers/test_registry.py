"""The registry: adapters by name, pooled clients per key, and the catalogue as table rows."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from config.catalogue import CATALOGUE, provider_spec
from config.settings import ProviderName, Settings, SettingsError, key_id
from jobs.request import EditRequest
from providers.base import CallbackReceiver, Cancellable
from providers.errors import InvalidRequest
from providers.registry import (
    PROVIDERS,
    AdapterPool,
    UnknownProvider,
    build_client,
    configured_key,
    describe,
    find_key,
    get_adapter,
    validate_request,
)

KEY = "key_" + "ab" * 64


@pytest.fixture
def offline() -> Iterator[Settings]:
    """Settings with keys for two providers and nothing listening anywhere."""
    yield Settings(
        runway={"api_keys": [KEY, "key_second"], "base_url": "http://127.0.0.1:9/runway"},
        segmind={"api_keys": "SG_0123456789abcdef", "concurrency": 9},
        http_connect_timeout_s=1.5,
        http_read_timeout_s=7.0,
    )


def test_every_provider_has_an_adapter_named_after_it() -> None:
    assert set(PROVIDERS) == set(ProviderName)
    for name, cls in PROVIDERS.items():
        assert cls.name is name


def test_only_runway_cancels_and_only_crun_takes_callbacks(offline: Settings) -> None:
    for name in ProviderName:
        adapter = get_adapter(name, offline, api_key=SecretStr("k" * 10))
        assert isinstance(adapter, Cancellable) is (name is ProviderName.RUNWAY)
        assert isinstance(adapter, CallbackReceiver) is (name is ProviderName.CRUN)


def test_an_unknown_name_is_refused_naming_it(offline: Settings) -> None:
    with pytest.raises(UnknownProvider, match=r"'kie'.*known: runway"):
        get_adapter("kie", offline)


def test_a_provider_without_keys_is_refused_naming_its_variable(offline: Settings) -> None:
    with pytest.raises(SettingsError, match=r"RESTYLE_CRUN__API_KEYS.*'crun'"):
        get_adapter("crun", offline)
    with pytest.raises(SettingsError, match="RESTYLE_RUNWAY__API_KEYS"):
        configured_key(offline, "runway", key_index=2)


def test_build_client_sets_base_url_auth_and_explicit_timeouts(offline: Settings) -> None:
    spec = provider_spec("runway", offline)
    with build_client(spec, SecretStr(KEY), offline) as client:
        assert str(client.base_url) == "http://127.0.0.1:9/runway/"
        assert client.headers["authorization"] == f"Bearer {KEY}"
        assert client.headers["x-runway-version"] == "2024-11-06"
        assert client.timeout == httpx.Timeout(7.0, connect=1.5)
    with build_client(CATALOGUE[ProviderName.CRUN], SecretStr("crun-k"), offline) as client:
        assert client.headers["x-api-key"] == "crun-k"
        assert "authorization" not in client.headers


def test_a_pool_reuses_one_client_per_key_and_closes_them_all(offline: Settings) -> None:
    pool = AdapterPool(offline)
    first = pool.get("runway", key_id(SecretStr(KEY)))
    again = pool.get(ProviderName.RUNWAY, key_id(SecretStr(KEY)))
    other = pool.get("runway", key_id(SecretStr("key_second")))
    assert first.transport.client is again.transport.client
    assert first.transport.client is not other.transport.client
    assert pool.prepare() == 3
    pool.close()
    assert first.transport.client.is_closed and other.transport.client.is_closed


def test_get_adapter_uses_the_callers_client(offline: Settings) -> None:
    with httpx.Client(base_url="http://127.0.0.1:9") as client:
        adapter = get_adapter("vibedream", offline, client=client)
        assert adapter.transport.client is client


def test_catalogue_overrides_reach_the_adapter(offline: Settings) -> None:
    adapter = get_adapter("segmind", offline)
    assert adapter.spec.concurrency == 9


def test_preflight_validation_needs_no_key(offline: Settings) -> None:
    request = EditRequest(video_url="https://x/a.mp4", prompt="p", aspect_ratio="21:9")
    validate_request("segmind", offline, request)
    with pytest.raises(InvalidRequest, match="vibedream: aspect_ratio='21:9'"):
        validate_request("vibedream", offline, request)


def test_describe_lists_every_provider_and_never_a_key(offline: Settings) -> None:
    rows = {row.name: row for row in describe(offline)}
    assert set(rows) == set(ProviderName)
    runway = rows[ProviderName.RUNWAY]
    assert (runway.configured, runway.key_count) == (True, 2)
    assert runway.key_ids[0] == key_id(SecretStr(KEY))
    assert runway.base_url == "http://127.0.0.1:9/runway"
    assert rows[ProviderName.SEGMIND].concurrency == 9
    assert rows[ProviderName.CRUN].configured is False
    assert rows[ProviderName.VIBEDREAM].ratios == ("16:9", "9:16", "4:3", "3:4", "1:1")
    assert KEY not in repr(rows) and "SG_0123456789abcdef" not in repr(rows)


def test_adapter_reprs_show_no_key(offline: Settings) -> None:
    adapter = AdapterPool(offline).get("runway", key_id(SecretStr(KEY)))
    text = repr(adapter) + repr(adapter.transport)
    assert "127.0.0.1:9/runway" in text
    assert KEY not in text


def test_a_retired_key_still_serves_the_jobs_already_on_it() -> None:
    settings = Settings(runway={"api_keys": ["key_new"], "retired_api_keys": ["key_old"]})
    old = AdapterPool(settings).get("runway", key_id(SecretStr("key_old")))
    assert isinstance(old, PROVIDERS[ProviderName.RUNWAY])
    found = find_key(settings, "runway", key_id(SecretStr("key_old")))
    assert found.get_secret_value() == "key_old"
    with pytest.raises(SettingsError, match="RESTYLE_RUNWAY__RETIRED_API_KEYS"):
        AdapterPool(settings).get("runway", key_id(SecretStr("key_gone")))
