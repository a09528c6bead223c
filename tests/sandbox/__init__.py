import pytest

# The helpers assert too: rewritten like the tests' own asserts, for the same failure messages.
pytest.register_assert_rewrite("tests.sandbox.hubspot_helpers")
