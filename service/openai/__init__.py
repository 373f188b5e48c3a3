"""The OpenAI Images API over the served workflows: ``/v1/images/*`` and ``/v1/models``."""
