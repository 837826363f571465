"""Coupons and promotions: Condition + Benefit offers, the best combination, checkout holds."""
