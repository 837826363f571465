"""Settings from the environment (TENURE_*) and an optional tenure.toml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    # Every other request body; the tracking endpoints keep the two Segment limits above.
    max_request_bytes: int = 1024 * 1024
    # The window of plausible event and order times (see README, "Plausible times"): earlier
    # times are refused, times further than the tolerance past their arrival are clamped.
    earliest_event_time: datetime = datetime(1990, 1, 1, tzinfo=UTC)
    future_tolerance: timedelta = timedelta(days=1)
    # Campaign channels (docs/campaigns.md). E-mail goes to an SMTP server
    # (`smtp://user:password@host:587?starttls=true`, or `smtps://…`); SMS and push go to a
    # provider's webhook, shaped by the named provider adapter.
    smtp_url: str | None = None
    email_from: str = "Tenure <noreply@localhost>"
    sms_webhook_url: str | None = None
    sms_provider: str = "generic"
    push_webhook_url: str | None = None
    push_provider: str = "generic"
    # Provider rate limits, messages a second per worker (none: as fast as they answer).
    email_rate_per_second: float | None = Field(default=None, gt=0)
    sms_rate_per_second: float | None = Field(default=None, gt=0)
    push_rate_per_second: float | None = Field(default=None, gt=0)
    # Where tracking links point: the public address of `tenure serve`.
    public_url: str = "http://127.0.0.1:8000"
    # How long a worker holds a message it is sending; a worker killed mid-send leaves its
    # messages to others after this.
    campaign_lease_seconds: float = 120.0
    # Messages a worker sends at once (and SMTP connections it keeps): sending overlaps the
    # database commit that records each message.
    campaign_send_threads: int = Field(default=4, ge=1, le=64)
    # Signs tracking links and unsubscribe tokens; when unset, a random key is kept in the home.
    secret_key: str | None = None
    # The console serves a warehouse answer computed before the last write for up to this long
    # while it recomputes in the background (0: always wait for the new figures).
    console_stale_seconds: float = Field(default=3600.0, ge=0)
    # Recommendations (docs/recommendations.md): SKU globs that are not products (postage, fees,
    # gift cards: `POST,gift_*`), never learnt from or shown; and how many items of one category
    # a list may hold (0: no cap).
    recommend_exclude_skus: str = ""
    recommend_max_per_category: int = Field(default=3, ge=0, le=1000)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone name
        return value

    @field_validator("earliest_event_time")
    @classmethod
    def _aware_earliest(cls, value: datetime) -> datetime:
        # A date or a naive time is taken as UTC.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if value.year < 1900:  # the period arithmetic of analytics starts from there
            raise ValueError("earliest_event_time must be in 1900 or later")
        return value

    @field_validator("future_tolerance", mode="before")
    @classmethod
    def _tolerance_in_seconds(cls, value: object) -> object:
        # TENURE_FUTURE_TOLERANCE=3600 means seconds, as an ISO 8601 duration (P1D) does its own.
        try:
            return float(value) if isinstance(value, str) else value
        except ValueError:
            return value

    @field_validator("future_tolerance")
    @classmethod
    def _tolerance_not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("future_tolerance must not be negative")
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
