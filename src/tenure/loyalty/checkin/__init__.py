"""Daily check-in: one per local day, streaks and a reward ladder."""
