"""audio_io (placeholder: this component has not landed yet)."""
