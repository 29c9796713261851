"""Use cases that handlers, the command line and timed jobs share.

A service changes stored state in one transaction, with the notices and timed items
that the change causes, and wakes the engine after the commit when it was given one.
It renders nothing and never talks to Telegram: handlers render and answer; notices
are rendered at send time by their feature (handlers/notices.py). Services import
db/, scheduler/ and core/ only (the contracts in pyproject.toml), so `python -m bot`
commands run them without loading a single handler.

notices       storing a notice for the engine to send (`notify_in`, `notify`)
assignment    reassigning a client to another caseworker
reachability  a person Telegram no longer delivers to
checkins      a check-in schedule -> stored check-ins and their timed items
"""
