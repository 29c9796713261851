"""Update-level middlewares, outermost first (bot/app.py): error reply, private chats only,
throttle, user row; then the locale (bot/i18n.py)."""
