"""Settings, the provider catalogue and Celery configuration, read once per process."""

from config.catalogue import CATALOGUE, Price, ProviderSpec, provider_spec
from config.settings import (
    ProviderName,
    ProviderSettings,
    Settings,
    SettingsError,
    key_id,
    load_settings,
)

__all__ = [
    "CATALOGUE",
    "Price",
    "ProviderName",
    "ProviderSettings",
    "ProviderSpec",
    "Settings",
    "SettingsError",
    "key_id",
    "load_settings",
    "provider_spec",
]
