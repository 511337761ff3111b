"""The tiny shop's publisher (tests/serving/conftest.py), for the experiment registry tests."""

from tests.serving.conftest import publish_shop

__all__ = ["publish_shop"]
