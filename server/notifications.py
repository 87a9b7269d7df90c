"""Choosing the scheduler's mail server from the settings (`TESTRUN_SMTP_*`)."""

from __future__ import annotations

from execution.notifications import SmtpServer
from server.settings import Settings


def smtp_server(settings: Settings) -> SmtpServer | None:
    """The SMTP server schedule emails go through; None (no emails) without TESTRUN_SMTP_HOST."""
    if not settings.smtp_host:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=password,
        security=settings.smtp_security,
        timeout_s=settings.smtp_timeout_s,
    )
