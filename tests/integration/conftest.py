"""The integration tests' clusters run the images the cluster_images fixture (tests/conftest.py)
builds."""
