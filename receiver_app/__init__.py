"""receiver_app (placeholder: this component has not landed yet)."""
