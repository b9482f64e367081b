"""The IRC side: one client interface (embedded or external network), the hooks the
embedded ircd calls (callsign nicks, SASL, bans), and the operators' RADIO commands and notices."""
