"""Uplift targeting: who responds to a campaign because of it, learnt from a past test.

From Python, on a warehouse connection::

    from tenure.experiments.uplift.service import UpliftConfig, fit, score, segment_rule
    meta = fit(con, zone, home, units, UpliftConfig(outcome="orders", outcome_days=28))
    version, values = score(con, zone, home)       # uplift, rank, percentile per customer
    segment_rule(0.3)                              # score.uplift.percentile <= 0.3

`units` is a DataFrame of user_id, treated (bool) and at (aware UTC): a campaign's treatment
and holdout entries, or an experiment's arms.
"""
