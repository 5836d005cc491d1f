"""The real SMTP server and HTTP receiver of the notification tests, for subscriber mail and webhooks."""

from tests.notify.conftest import smtp, webhook

__all__ = ["smtp", "webhook"]
