"""On-call schedules: rotations, layers and overrides, and who is on call at any moment."""
