"""Vosk model resolution and management.

The broadcaster asks :func:`resolve_model` for a model directory; ``jimaku models list|install``
shows and installs models. Nothing here downloads anything unless the operator runs
``jimaku models install URL`` explicitly.

Exception tree::

    ModelError                      any problem with a model (a ValueError for argparse users)
    ├── ModelNotFoundError          no model at the given path / name, or the default is missing
    ├── ModelInvalidError           the directory is not a usable vosk model (files missing)
    ├── ModelInstallError           an install failed (download, checksum, bad archive)
    │   └── ChecksumMismatchError   the archive's SHA-256 differs from the expected one
    └── ModelOverlayError           an endpoint overlay cannot be made (bad value, unwritable)
"""

from __future__ import annotations

from models.endpoint import endpoint_overlay, rewrite_conf
from models.errors import (
    ChecksumMismatchError,
    ModelError,
    ModelInstallError,
    ModelInvalidError,
    ModelNotFoundError,
    ModelOverlayError,
)
from models.install import install_model, sha256_file
from models.registry import KNOWN_MODELS, KnownModel
from models.resolve import (
    DEFAULT_MODEL,
    ModelInfo,
    default_model_path,
    installed_models,
    models_dir,
    resolve_model,
    validate_model_dir,
)

__all__ = [
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "ChecksumMismatchError",
    "KnownModel",
    "ModelError",
    "ModelInfo",
    "ModelInstallError",
    "ModelInvalidError",
    "ModelNotFoundError",
    "ModelOverlayError",
    "default_model_path",
    "endpoint_overlay",
    "install_model",
    "installed_models",
    "models_dir",
    "resolve_model",
    "rewrite_conf",
    "sha256_file",
    "validate_model_dir",
]
