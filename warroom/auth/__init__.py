"""Identity: users and roles, API tokens, web sessions, acting for someone, and the audit log."""
