-- SQLite only (WITHOUT ROWID for the tables upserted by key): PostgreSQL
-- keeps a table and its key's index apart whatever it is told.
SELECT 1;
