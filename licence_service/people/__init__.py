"""People, not shared keys: person accounts, their roles and units, passwords and tokens.

Every write through the HTTP API is done by a named person of one unit (an agency, the
region authority or an audit office) acting in one of their roles; the operation log names
them. See ``identity`` for the roles and units, ``service`` for accounts and tokens,
``signin`` for password sign-in with its rate limit.
"""
