"""archive_server (placeholder: this component has not landed yet)."""
