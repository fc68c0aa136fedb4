"""The benchmarks of ``licledger bench``.

``signing`` is imported first for its filter of pyHanko's known import-time warning: ``bench.naive``
imports pyHanko directly.
"""

import signing  # noqa: F401
