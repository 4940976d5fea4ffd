"""trigger_codec (placeholder: this component has not landed yet)."""
