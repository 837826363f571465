"""The append-only points ledger: transactions posting signed entries to lots and buckets."""
