"""Tools for developers and newcomers, never imported by the bot: the local playground."""
