"""The `restyle` command line."""
