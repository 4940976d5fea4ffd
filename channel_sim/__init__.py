"""channel_sim (placeholder: this component has not landed yet)."""
