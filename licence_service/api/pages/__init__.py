"""The browser pages' parts: texts per language, static assets, and the HTML they are built from.

The routes live in :mod:`licence_service.api.routers.pages`; this package keeps each concern in
a small module so that the pages of issue 10 (counter, sign-in, …) can grow side by side.
"""
