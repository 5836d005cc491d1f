"""The incident use cases: declare, acknowledge, work, resolve, and the views of the record."""
