"""Console: staff sign in (OpenID Connect) and work their cases in server-rendered pages that call the services'
APIs as the signed-in person; it owns only sessions and the staff directory."""
