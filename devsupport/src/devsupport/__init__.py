"""Helpers that the tests and the benchmarks share: none of it ships to users.

``devsupport`` is a package of the workspace (the repository root's ``pyproject.toml``),
installed editable into the development venv by ``make install``, so that ``tests/`` and
``benchmarks/`` both import it normally and neither imports the other:

- :mod:`devsupport.postgres`: a throwaway PostgreSQL server from the machine's binaries
  (:mod:`devsupport.postgres_up` brings it back when a restart fails);
- :mod:`devsupport.net`: a free TCP port on 127.0.0.1;
- :mod:`devsupport.facebook`: the ``X-Hub-Signature-256`` header Meta signs webhooks with.
"""
