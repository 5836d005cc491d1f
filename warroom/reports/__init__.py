"""Reports over the record (MTTA, MTTM, MTTR, SLA compliance, postmortems, load), their SVG charts,
and the figures /metrics reads at scrape time."""
