"""Database servers for tests: private local ones (``local``)."""
