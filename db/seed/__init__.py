"""Data shipped with the bot: the starter and demo service-directory CSVs (a folder named data/ would be git-ignored)."""
