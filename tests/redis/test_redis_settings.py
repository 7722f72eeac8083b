"""RESTYLE_REDIS_URL takes one Redis or a Sentinel set; every client and Celery follow it."""

from __future__ import annotations

import ssl

import pytest
from pydantic import SecretStr

from config.redis import celery_redis, credentials, describe, redis_client, tls_options
from config.settings import SentinelSet, Settings, SettingsError, load_settings
from workers.celery_config import celery_config

SENTINELS = "sentinel://10.0.0.1:26379,10.0.0.2:26380,sentinel-3:26381/restyle/2"


def test_a_sentinel_url_names_the_sentinels_the_primary_and_the_database() -> None:
    found = Settings(redis_url=SENTINELS).redis_sentinels

    assert found == SentinelSet(
        sentinels=(("10.0.0.1", 26379), ("10.0.0.2", 26380), ("sentinel-3", 26381)),
        master_name="restyle",
        db=2,
    )
    assert Settings(redis_url="sentinel://h:1/m").redis_sentinels == SentinelSet(
        sentinels=(("h", 1),), master_name="m", db=0
    )
    assert Settings(redis_url="redis://h:6379/0").redis_sentinels is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sentinel://h1:26379,h2/restyle", "sentinel 'h2' is not host:port"),
        ("sentinel://h1:26379,h2:99999/restyle", "sentinel 'h2:99999' is not host:port"),
        ("sentinel://h1:26379", "sentinel://host:port,host:port,.../master_name[/db]"),
        ("sentinel://h1:26379/restyle/zero", "database 'zero' is not a number"),
        ("sentinel://:pw@h1:26379/restyle", "RESTYLE_REDIS_PASSWORD"),
        ("http://h1:6379/0", "must start with redis://, rediss://, unix:// or sentinel://"),
    ],
)
def test_a_malformed_redis_url_is_refused_naming_the_variable(url: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(redis_url=url)

    assert str(caught.value).startswith("RESTYLE_REDIS_URL: ")
    assert says in str(caught.value)


def test_celery_and_redbeat_reach_the_primary_through_the_sentinels() -> None:
    settings = Settings(
        redis_url=SENTINELS,
        redis_password=SecretStr("p@ss"),
        redis_sentinel_password=SecretStr("sentinel-secret"),
    )
    conf = celery_config(settings)

    assert conf["broker_url"] == (
        "sentinel://:p%40ss@10.0.0.1:26379/2;sentinel://:p%40ss@10.0.0.2:26380/2;"
        "sentinel://:p%40ss@sentinel-3:26381/2"
    )
    assert conf["result_backend"] == conf["broker_url"]
    assert conf["broker_transport"] == "workers.broker:SentinelTransport"
    for options in (conf["broker_transport_options"], conf["result_backend_transport_options"]):
        assert options["master_name"] == "restyle"
        assert options["sentinel_kwargs"]["password"] == "sentinel-secret"
        assert options["visibility_timeout"] == settings.visibility_timeout_s
    assert conf["broker_connection_max_retries"] is None
    assert conf["broker_connection_retry_on_startup"] is True
    assert conf["redbeat_redis_url"] == "redis-sentinel://"
    redbeat = conf["redbeat_redis_options"]
    assert redbeat["sentinels"] == [("10.0.0.1", 26379), ("10.0.0.2", 26380), ("sentinel-3", 26381)]
    assert (redbeat["service_name"], redbeat["db"]) == ("restyle", 2)
    # RedBeat gets a built client (workers.factory); its settings, shown by `inspect conf`,
    # carry no password.
    assert "password" not in redbeat
    assert redbeat["retry_period"] == settings.redis_failover_wait_s


def test_one_redis_keeps_its_url_and_gets_the_password_only_where_celery_needs_it() -> None:
    plain = celery_redis(Settings(redis_url="redis://cache:6379/1"))
    assert plain["broker_url"] == plain["result_backend"] == "redis://cache:6379/1"
    assert "master_name" not in plain["broker_transport_options"]
    assert plain["broker_transport"] == "workers.broker:Transport"

    secret = Settings(redis_url="redis://cache:6379/1", redis_password=SecretStr("s3cret"))
    assert celery_redis(secret)["broker_url"] == "redis://:s3cret@cache:6379/1"
    assert "s3cret" not in describe(secret)


def test_messages_about_redis_name_the_sentinels_never_a_password() -> None:
    settings = Settings(redis_url=SENTINELS, redis_password=SecretStr("p@ss"))
    assert describe(settings) == (
        "primary 'restyle' of sentinels 10.0.0.1:26379,10.0.0.2:26380,sentinel-3:26381"
    )


SECRET, SENTINEL_SECRET = "Sup3r-s3cret", "s3ntinel-s3cret"


@pytest.mark.parametrize(
    "url", ["sentinel://h1:1,h2:2/restyle/0", "redis://alice@cache:6379/0", "rediss://cache:6380/0"]
)
def test_celerys_configuration_dump_shows_no_password(url: str) -> None:
    from celery import Celery

    settings = Settings(
        redis_url=url,
        redis_username="alice",
        redis_password=SecretStr(SECRET),
        redis_sentinel_password=SecretStr(SENTINEL_SECRET),
    )
    app = Celery("dump", set_as_current=False)
    app.conf.update(celery_config(settings))

    # What a worker answers to `celery inspect conf`, and Flower shows on /api/workers.
    shown = app.conf.table(with_defaults=False, censored=True)

    assert SECRET not in repr(shown) and SENTINEL_SECRET not in repr(shown)
    assert "alice:********@" in shown["broker_url"]
    assert "alice:********@" in shown["result_backend"]
    assert "@" not in shown["redbeat_redis_url"]
    # ...while the broker itself gets the user and the password.
    assert f"alice:{SECRET}@" in celery_config(settings)["broker_url"]


def test_an_acl_user_in_the_url_gets_the_password_from_the_setting() -> None:
    settings = Settings(redis_url="redis://app@cache:6379/1", redis_password=SecretStr("p w"))

    assert credentials(settings) == ("app", "p w")
    conf = celery_redis(settings)
    assert conf["broker_url"] == conf["result_backend"] == "redis://app:p%20w@cache:6379/1"
    # The URL's own password wins over the setting.
    assert credentials(Settings(redis_url="redis://u:own@h/0", redis_password=SecretStr("x"))) == (
        "u",
        "own",
    )


def test_rediss_is_verified_the_same_way_by_every_client() -> None:
    settings = Settings(
        redis_url="rediss://cache:6380/0",
        redis_tls_ca_file="/etc/restyle/ca.pem",
        redis_tls_cert_file="/etc/restyle/client.pem",
        redis_tls_key_file="/etc/restyle/client.key",
    )
    expected = {
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
        "ssl_check_hostname": True,
        "ssl_ca_certs": "/etc/restyle/ca.pem",
        "ssl_certfile": "/etc/restyle/client.pem",
        "ssl_keyfile": "/etc/restyle/client.key",
    }
    conf = celery_redis(settings)

    assert tls_options(settings) == expected
    assert conf["broker_use_ssl"] == conf["redis_backend_use_ssl"] == expected
    client = redis_client(settings)
    assert client.connection_pool.connection_kwargs["ssl_ca_certs"] == "/etc/restyle/ca.pem"
    assert celery_redis(Settings(redis_url="redis://cache:6379/0"))["broker_use_ssl"] is None
