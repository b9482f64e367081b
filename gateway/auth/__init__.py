"""Authentication: TOTP verification, penalties, enrollment, secrets at rest."""
