"""The public status page: components, public incident posts, maintenance, and the cache that serves them."""
