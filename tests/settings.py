"""The test suite's settings: the development configuration (DEBUG=true unless the environment
says otherwise), which the tests are written against: plain http, static files from the apps.

The production configuration (DEBUG unset, as ``make run`` and a deployment run) is tested in
processes started with their own environment: tests/test_runtime_security.py, tests/test_project.py.
"""

import os

os.environ.setdefault("DEBUG", "true")

from config.settings import *  # noqa: E402, F403

# The emulators' rate limits are off in the suite (tests that check limits switch them on), so
# the client does not pace its calls either (tests/integration/test_hubspot_pacing.py tests pacing).
HUBSPOT_CALLS_PER_10_SECONDS = 0
HUBSPOT_SEARCHES_PER_SECOND = 0
