"""Delivery channels: e-mail over SMTP, SMS and push through provider webhooks, the in-app inbox."""
