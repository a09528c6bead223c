"""The operations tests share the sync tests' emulators (both served over real HTTP)."""

from tests.sync.conftest import inclusion_list, sandbox  # noqa: F401  (fixtures)
