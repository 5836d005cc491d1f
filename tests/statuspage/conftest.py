"""The real SMTP server of the notification tests, for subscriber mail."""

from tests.notify.conftest import smtp

__all__ = ["smtp"]
