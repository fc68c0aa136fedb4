"""The demos on embedded defaults: ``licences`` (one region, end to end) and ``regions``
(a licence accepted in another region); ``applicants`` and ``people`` are their data."""
