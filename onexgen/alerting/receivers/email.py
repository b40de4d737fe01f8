"""E-mail integration: one message per notification over SMTP with aiosmtplib.

Plain text first (read on phones and in terminals), with an HTML alternative
that is the same table. Fields as in Alertmanager's ``email_configs``: ``to``
(comma-separated), ``from``, ``smarthost``, ``hello``, ``auth_username``,
``auth_password(_file)``, ``require_tls`` (STARTTLS required, Alertmanager's
default) and ``headers`` (``Subject`` among them replaces onexgen's), each
falling back to ``global.smtp_*``.

Errors are split as for HTTP: a refused login, sender or recipient (5xx) is a
configuration problem and is not retried; a connection failure, timeout or
4xx is. A message that cannot be *built* (a header value holding CR/LF, say)
is a poison notification: :class:`~onexgen.alerting.errors.DeliveryError`
with ``retryable=False``, so the delivery queue records and skips it instead
of retrying it forever in front of everything else.
"""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from onexgen.alerting.config import EmailConfig, GlobalConfig
from onexgen.alerting.errors import DeliveryError
from onexgen.alerting.receivers.base import Notification, notification_title
from onexgen.alerting.receivers.http import read_secret

__all__ = ["Email", "build_email"]


def _lines(notification: Notification) -> list[tuple[str, str, str, str, str]]:
    return [(a.status.value.upper(), a.rule, a.severity, f"{a.value:g}",
             f"{a.comparison} {a.threshold:g}") for a in notification.alerts]


def build_email(notification: Notification, *, sender: str, to: list[str],
                headers: dict[str, str] | None = None) -> EmailMessage:
    """The message for ``notification`` (subject = the notification title)."""
    message = EmailMessage()
    extra = dict(headers or {})
    message["Subject"] = extra.pop("Subject", None) or notification_title(notification)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="onexgen.local")
    message["X-Onexgen-Group-Key"] = notification.group_key
    for name, value in extra.items():
        message[name] = value
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
    def __init__(self, name: str, config: EmailConfig, global_: GlobalConfig) -> None:
        self.name = name
        self.send_resolved = config.send_resolved
        self._config = config
        self._global = global_
        self._sender = config.from_ or global_.smtp_from
        self._to = [t.strip() for t in config.to.split(",") if t.strip()]
        host, _, port = (config.smarthost or global_.smtp_smarthost).rpartition(":")
        self._host = host.strip("[]")
        self._port = int(port)
        self._hello = config.hello or global_.smtp_hello
        self._username = config.auth_username or global_.smtp_auth_username
        self._require_tls = (global_.smtp_require_tls if config.require_tls is None
                             else config.require_tls)

    def _password(self) -> str | None:
        cfg, g = self._config, self._global
        inline, path = cfg.auth_password, cfg.auth_password_file
        if inline is None and path is None:
            inline, path = g.smtp_auth_password, g.smtp_auth_password_file
        if inline is None and path is None:
            return None
        return read_secret(self.name, inline, path, "SMTP password")

    async def send(self, notification: Notification) -> None:
        try:
            message = build_email(notification, sender=self._sender, to=self._to,
                                  headers=self._config.headers)
            message.as_bytes()  # header values are checked only when the message is flattened
        except (ValueError, TypeError) as exc:  # e.g. CR/LF in a header: cannot ever be sent
            raise DeliveryError(f"receiver {self.name!r}: cannot build the e-mail "
                                f"({type(exc).__name__}: {str(exc)[:120]}); skipped",
                                retryable=False) from exc
        password = self._password()
        try:
            await aiosmtplib.send(message, hostname=self._host, port=self._port,
                                  local_hostname=self._hello,
                                  username=self._username or None, password=password,
                                  start_tls=True if self._require_tls else None,
                                  timeout=30.0)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"receiver {self.name!r}: SMTP login refused ({exc.code}); "
                                "check auth_username and the password", retryable=False
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
