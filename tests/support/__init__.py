"""Helpers of the test suite, imported as ``from tests.support.<module> import ...``.

- :mod:`tests.support.cli`: the ``chatbotmaker`` command in-process or as a subprocess;
- :mod:`tests.support.fake_graph`: a real HTTP server on 127.0.0.1 playing the Graph API;
- :mod:`tests.support.facebook`: the facebook tests' constants, rules and request helpers.

``tests`` is importable because it is a package (``tests/__init__.py``) and pytest puts the
repository root on ``sys.path`` (``pythonpath = ["."]`` in pyproject.toml). What the
benchmarks share with the tests (throwaway PostgreSQL, free ports, webhook signatures) lives
in the installed ``devsupport`` package instead, so benchmarks never import tests.
"""
