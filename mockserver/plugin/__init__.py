"""The pytest plugin: mocks served in threads, or a running mock, behind one fixture."""
