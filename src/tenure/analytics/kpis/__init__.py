"""KPIs: active users and lifecycle counts, commerce KPIs, cohort LTV, CAC and payback."""

from tenure.analytics.kpis.acquisition import AcquisitionRunner
from tenure.analytics.kpis.query import (
    AcquisitionQuery,
    AcquisitionResult,
    ChannelRow,
    KpiPoint,
    KpiQuery,
    KpiResult,
    KpiSeries,
    KpiTotals,
    LtvCohort,
)
from tenure.analytics.kpis.runner import KpiRunner

__all__ = [
    "AcquisitionQuery",
    "AcquisitionResult",
    "AcquisitionRunner",
    "ChannelRow",
    "KpiPoint",
    "KpiQuery",
    "KpiResult",
    "KpiRunner",
    "KpiSeries",
    "KpiTotals",
    "LtvCohort",
]
