"""E-mail receiver: one message per notification over SMTP with aiosmtplib.

Plain text first (read on phones and in terminals), with an HTML alternative
that is the same table. SMTP errors are split like HTTP ones: a refused
login, sender or recipient (5xx) is a configuration problem and is not
retried; a connection failure, timeout or 4xx ("try again later") is. The
password comes from the config as a ``SecretStr`` and never reaches a log.
"""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from onexgen.alerting.config import EmailReceiver
from onexgen.alerting.errors import DeliveryError
from onexgen.alerting.receivers.base import Notification, notification_title

__all__ = ["Email", "build_email"]


def _lines(notification: Notification) -> list[tuple[str, str, str, str, str]]:
    return [(a.status.value.upper(), a.rule, a.severity, f"{a.value:g}",
             f"{a.comparison} {a.threshold:g}") for a in notification.alerts]


def build_email(notification: Notification, *, sender: str, to: list[str]) -> EmailMessage:
    """The message for ``notification`` (subject = the notification title)."""
    message = EmailMessage()
    message["Subject"] = notification_title(notification)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="onexgen.local")
    message["X-Onexgen-Group-Key"] = notification.group_key
    rows = _lines(notification)
    text = [notification_title(notification), ""]
    for status, rule, severity, value, threshold in rows:
        text.append(f"{status:8} {rule} ({severity}): value {value}, threshold {threshold}")
    for alert in notification.alerts:
        summary = alert.annotations.get("summary")
        if summary:
            text.append(f"  {alert.rule}: {summary}")
    if notification.external_url:
        text += ["", f"Dashboard: {notification.external_url}/dashboard"]
    message.set_content("\n".join(text) + "\n")
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    message.add_alternative(
        f"<html><body><h3>{html.escape(notification_title(notification))}</h3>"
        "<table border='1' cellpadding='4'><tr><th>status</th><th>rule</th><th>severity</th>"
        f"<th>value</th><th>threshold</th></tr>{cells}</table></body></html>", subtype="html")
    return message


class Email:
    def __init__(self, config: EmailReceiver) -> None:
        self.name = config.name
        self.send_resolved = config.send_resolved
        self._config = config
        host, _, port = config.smarthost.rpartition(":")
        self._host = host
        self._port = int(port)

    async def send(self, notification: Notification) -> None:
        cfg = self._config
        message = build_email(notification, sender=cfg.sender, to=cfg.to)
        password = cfg.password.get_secret_value() if cfg.password is not None else None
        try:
            await aiosmtplib.send(message, hostname=self._host, port=self._port,
                                  username=cfg.username, password=password,
                                  start_tls=cfg.starttls, use_tls=cfg.use_tls,
                                  timeout=cfg.timeout_s)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"receiver {self.name!r}: SMTP login refused ({exc.code}); "
                                "check username and the password variable", retryable=False
                                ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            retryable = exc.code < 500
            raise DeliveryError(f"receiver {self.name!r}: SMTP {exc.code} {exc.message[:120]}",
                                retryable=retryable) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"receiver {self.name!r}: all recipients refused; check 'to'",
                                retryable=False) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"receiver {self.name!r}: cannot reach {self._host}:"
                                f"{self._port} ({type(exc).__name__}); will retry") from exc

    async def close(self) -> None:
        """Nothing to close: one SMTP connection per message (alerts are rare)."""
