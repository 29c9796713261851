"""Pure helpers every layer may use: time arithmetic, string markers, language list, dates.

A leaf: nothing here imports another package of the project (checked by import-linter).
"""
