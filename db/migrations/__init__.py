"""SQL migration steps, applied in file-name order by db.migrate."""
