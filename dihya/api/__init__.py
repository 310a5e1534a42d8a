"""The REST API's authentication (issue 13): tokens Dihya issues, tokens an OpenID provider issues,
and one ``Authenticator`` in front of both. Free of any web framework: the API adapter only turns
a ``Rejected`` into a 401 with its ``WWW-Authenticate`` header."""
