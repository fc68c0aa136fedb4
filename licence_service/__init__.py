"""Licence Ledger's issuing and managing service. Read ARCHITECTURE.md for the map:
entry points (``cli``, ``api``) call ``services``; below them ``documents``, ``anchoring``,
``store``, ``region`` and ``domain``; ``audit``, ``federation`` and ``people`` beside them."""
