"""Predictive models of customer behaviour: purchase counts, churn, lifetime value."""
