"""archive_client (placeholder: this component has not landed yet)."""
