"""In-memory fakes of the services' repositories, built on the same Protocols, for unit tests without I/O."""
