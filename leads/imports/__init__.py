"""Importing lead files: read (files), map headers to targets (columns), check each
row (validation), and validate, write and undo a whole import (services)."""
