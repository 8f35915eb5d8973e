"""Shared setup of the env tests.

The test folders have no ``__init__.py`` (pytest's default "prepend" import mode), so pytest puts
this folder on ``sys.path`` when it loads this conftest: the family tests below it import the
checks they share from :mod:`env_checks` (``from env_checks import ...``).
"""
