"""The click commands of ``maintcal``, one module per area; ``cli.py`` assembles them.

Every module here except ``common`` exposes ``COMMANDS``: the click commands or groups it adds.
"""
