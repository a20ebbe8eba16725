"""Leadsite's formats (settings.FORMAT_MODULE_PATH): Django's, except that every date
and time shown names its zone (see ``en/formats.py``)."""
