"""Pure building blocks shared by every layer: ids, errors, schemas, settings.

Imports nothing from the rest of Shipyard and does no I/O.
"""
