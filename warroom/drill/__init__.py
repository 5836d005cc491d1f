"""`warroom drill`: run a scenario against a policy on a simulated clock — the runbook's unit test."""
