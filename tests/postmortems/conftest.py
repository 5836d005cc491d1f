"""Real receivers for the postmortem tests: the SMTP server (aiosmtpd) of the notification tests."""

from tests.notify.conftest import smtp

__all__ = ["smtp"]
