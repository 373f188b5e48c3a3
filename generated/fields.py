"""Ivk field classes for the bundled InvokeAI OpenAPI (placeholder until ivkgen fields runs)."""
