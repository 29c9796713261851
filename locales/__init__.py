"""Gettext catalogs (kk, ru, en). English msgids are the source; see README "Translations"."""

from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent
DOMAIN = "messages"
