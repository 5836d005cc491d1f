"""HTTP access for every face: who is asking (session cookie or bearer token), what each route needs,
CSRF and Origin checks, the audit note of each request, and the security headers of each answer."""
