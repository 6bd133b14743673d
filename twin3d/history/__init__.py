"""The monitoring history: tracker updates, calibrations, localisations, alarms, commands and
acks in a database (SQLite by default, PostgreSQL for a shared lab store), written off the
frame loop, buffered while the store is down.

May import: nothing else of ours (the live side feeds it plain records)."""
