"""models (placeholder: this component has not landed yet)."""
