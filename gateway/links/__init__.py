"""How radio users reach the gateway: telnet (LinBPQ nodes), AX.25 ports on KISS TNCs,
the pre-login slots they share, and the bytes-to-lines reader under both."""
