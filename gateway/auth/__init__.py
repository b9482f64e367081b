"""Authentication: TOTP, penalties, secrets at rest, one login decided in one transaction;
the IRC clients' credentials, the external network's logins, locks and the audit trail."""
