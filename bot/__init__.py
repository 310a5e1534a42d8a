"""Dihya's sans-I/O core: platform-neutral events in, actions out.

Nothing in this package imports a chat SDK, a job runner or a network client;
``tests/bot/test_sans_io.py`` enforces it.
"""

__version__ = "0.1.0"
