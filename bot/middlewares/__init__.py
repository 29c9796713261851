"""Update-level middlewares, outermost first: in-flight tracking, user row, locale, error reply."""
