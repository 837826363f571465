"""Reports: the self-contained HTML retention report and exports."""
