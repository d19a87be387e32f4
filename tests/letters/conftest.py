"""Fixtures for the letters tests: the Dovecot test servers (tests/imapd.py)."""

from tests.imapd import dovecot, dovecot_tls

__all__ = ["dovecot", "dovecot_tls"]
