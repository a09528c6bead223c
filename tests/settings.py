"""The test suite's settings: the development configuration (DEBUG=true unless the environment
says otherwise), which the tests are written against: plain http, static files from the apps.

The production configuration (DEBUG unset, as ``make run`` and a deployment run) is tested in
processes started with their own environment: tests/test_runtime_security.py, tests/test_project.py.
"""

import os

os.environ.setdefault("DEBUG", "true")

from config.settings import *  # noqa: E402, F403
