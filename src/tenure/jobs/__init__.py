"""Database-backed job schedule: named jobs, per-job interval, leased so one worker runs each."""
