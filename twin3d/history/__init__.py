"""The monitoring history: tracker updates, calibrations, localisations, alarms, commands and
acks in a database (SQLite by default, PostgreSQL for a shared lab store), written off the
frame loop, buffered while the store is down. The API: twin3d.history.store's docstring.

May import: nothing else of ours (the live side feeds it plain records)."""

from twin3d.history import records
from twin3d.history.records import Record
from twin3d.history.store import Store, StoreError, default_url, open_store
from twin3d.history.writer import Writer

__all__ = ["Record", "Store", "StoreError", "Writer", "default_url", "open_store", "records"]
