"""One module per provider wire protocol, each a `Wire` subclass with its real routes."""
