"""The Dagster resource that tells every asset which home it works on."""

from __future__ import annotations

from datetime import date

from dagster import ConfigurableResource

from lifecycle.settings import Settings, get_settings


class LifecycleHome(ConfigurableResource):
    """The home folder (landing, raw, quarantine, warehouse, exports) of the run."""

    home: str

    def settings(self) -> Settings:
        return get_settings(self.home)


def partition_date(partition_key: str) -> date:
    return date.fromisoformat(partition_key)
