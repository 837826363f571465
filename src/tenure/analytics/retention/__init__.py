"""Cohort retention: cohort matrices, day-N tables (three ways), value retention."""

from tenure.analytics.retention.query import DayNRow, RetentionQuery, RetentionResult
from tenure.analytics.retention.runner import RetentionRunner

__all__ = ["DayNRow", "RetentionQuery", "RetentionResult", "RetentionRunner"]
