"""Errors of the agents package.

    AgentsError
    └── WebConfigError   the web config file (TLS, basic auth) cannot be used: names the fix
"""

from __future__ import annotations


class AgentsError(Exception):
    """Root of every error raised by ``agents``."""


class WebConfigError(AgentsError):
    """ONEXGEN_WEB_CONFIG_FILE is unreadable or invalid; the message names the key to fix."""
