"""Coupon codes: bulk single-use, shared, and wallet coupons issued to a customer."""
