"""``python -m cli``: the same as the ``restyle`` console script."""

from cli.main import main

main()
