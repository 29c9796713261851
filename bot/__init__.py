"""Jańa Jol bot: configuration, application wiring, middlewares and the entry point."""
