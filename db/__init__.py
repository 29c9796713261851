"""SQLite storage: the connection, migrations and one query module per feature."""

from db.database import Database

__all__ = ["Database"]
