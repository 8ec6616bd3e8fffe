"""``python -m lrviz``: the same program as the ``lrviz`` command."""

from lrviz.cli import main

main()
