"""The complaints mailbox (part C): the IMAP IDLE reader (a worker), decoding, reply detection."""
