"""Every date and time the site shows names its time zone: "2026-12-03 14:05 EST".

Django's admin shows each datetime, in its lists, on its pages, in inlines and in
templates (``{{ value }}``, ``|date:"DATETIME_FORMAT"``), with DATETIME_FORMAT, in the
site's zone (TIME_ZONE); "T" is that zone's abbreviation at that moment (EST in winter,
EDT in summer, "-03" for a zone without one). One setting, so a column added later names
its zone too; code that writes a time into a text itself uses
leadsite.admin.local_time, the same format. ISO-like digits sort and read the same in
every language; dates alone and times of day (calling hours) have no zone and keep
Django's formats.
"""

DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
