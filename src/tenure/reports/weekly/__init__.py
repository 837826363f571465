"""The weekly review (复盘): one week of KPIs, retention, lifecycle, campaigns, offers, anomalies
and segment movers, as an HTML document, an e-mail and a PDF."""
