"""Settings from the environment (TENURE_*) and an optional tenure.toml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Every knob Tenure reads; defaults give the embedded DuckDB + SQLite set-up."""

    model_config = SettingsConfigDict(
        env_prefix="TENURE_", toml_file="tenure.toml", extra="ignore", frozen=True
    )

    home: Path = Field(default=Path("./tenure-data"))
    warehouse: str | None = None
    database_url: str | None = None
    timezone: str = "UTC"
    currency: str = "USD"
    locale: str = "en"
    inbox_flush_seconds: float = 2.0
    max_message_bytes: int = 32 * 1024
    max_batch_bytes: int = 500 * 1024

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone name
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("currency must be a 3-letter ISO 4217 code")
        return value.upper()

    @property
    def zone(self) -> ZoneInfo:
        """The shop's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def warehouse_url(self) -> str:
        """The warehouse location: a DuckDB file path, or `spark` / `spark://…`."""
        return self.warehouse or str(self.home / "warehouse.duckdb")

    @property
    def is_spark(self) -> bool:
        """Whether the warehouse is Spark."""
        return self.warehouse_url == "spark" or self.warehouse_url.startswith("spark://")

    @property
    def sqlalchemy_url(self) -> str:
        """The operational database URL."""
        return self.database_url or f"sqlite:///{(self.home / 'tenure.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order: explicit arguments, environment, tenure.toml."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
