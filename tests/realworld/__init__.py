"""Real config repositories judged by rendering every environment (shared/realworld/README.md)."""
