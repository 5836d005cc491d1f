"""Postmortems as records: versioned text, review states, action items, and the blameless lint."""
