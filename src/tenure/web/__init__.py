"""The operator's console: server-rendered pages (Jinja2 + htmx) over the domain services."""
