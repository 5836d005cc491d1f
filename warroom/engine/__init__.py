"""The engine: durable timers that page, remind, escalate and watch, planned from the incident timeline.

`planner` turns timeline entries into timers inside the incident's transaction; `loop` claims due
timers and fires them (`escalation`, `cadence`, `breaches`, `conditions`, `watch`, `phases`,
`postmortem`), each effect recorded once under its idempotency key (`firing`); `people` resolves
escalation targets through on-call schedules; `views` is the read side for the API and CLI.
"""
