"""Understanding: retention, KPIs, funnels and paths as Ibis query runners."""
