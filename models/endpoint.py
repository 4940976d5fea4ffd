"""Shorter end-of-utterance detection: a model *overlay* with rewritten endpoint rules.

vosk 0.3.45 has no API to change endpointing at run time: the rules are Kaldi's
``OnlineEndpointConfig`` options, read once from the model's ``conf/model.conf`` when the model is
loaded (``--endpoint.ruleN.min-trailing-silence=S`` etc.). Kaldi ends an utterance when any rule
holds; the ones that matter for speech are

- rule2: >= 0.5 s of trailing silence and the decoder is confident the sentence can end here
  (``max-relative-cost`` 2);
- rule3: >= 1.0 s of trailing silence and it is fairly confident (relative cost <= 8);
- rule4: >= 2.0 s of trailing silence, whatever the cost.

(Kaldi's defaults, which the small vosk models repeat in their ``model.conf``.) On the announcer's
speech most utterances end by rule3, 1.0 s after the last word, which is most of the live-mode
latency. :func:`endpoint_overlay` builds a directory that *is* the model (symlinks to every file of
the packaged model, which stays untouched) except for a copied ``conf/model.conf`` in which rules
2-4's trailing silences are scaled so that rule2's becomes ``silence_s`` (0.3 s: rule3 0.6 s,
rule4 1.2 s). Shorter rules end an utterance at a shorter pause inside a sentence too: the
broadcaster's setting ``endpoint_silence_s`` trades caption latency against more, shorter
captions.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from models.errors import ModelInvalidError, ModelOverlayError
from models.resolve import ModelInfo

__all__ = ["KALDI_TRAILING_SILENCE_S", "endpoint_overlay", "endpoint_rules", "rewrite_conf"]

#: Kaldi's default ``min-trailing-silence`` per rule (s), used when model.conf does not set one.
KALDI_TRAILING_SILENCE_S: dict[int, float] = {2: 0.5, 3: 1.0, 4: 2.0}

#: Accepted ``silence_s`` range (s): below 0.1 s vosk's 30 ms frames end utterances at every
#: stop consonant; above 5 s is rule1's (no speech at all) territory.
_MIN_S, _MAX_S = 0.1, 5.0

_RULE_RE = re.compile(r"^\s*--endpoint\.rule([2-4])\.min-trailing-silence\s*=\s*([^\s#]+)")


def endpoint_rules(conf_text: str) -> dict[int, float]:
    """Read rules 2-4's ``min-trailing-silence`` (s) from a model.conf text.

    Rules the text does not set get Kaldi's defaults.

    Raises
    ------
    ModelInvalidError
        A rule's value is not a number.
    """
    rules = dict(KALDI_TRAILING_SILENCE_S)
    for line in conf_text.splitlines():
        m = _RULE_RE.match(line)
        if m:
            try:
                rules[int(m.group(1))] = float(m.group(2))
            except ValueError as exc:
                raise ModelInvalidError(
                    f"model.conf line {line.strip()!r} is not a number of seconds"
                ) from exc
    return rules


def rewrite_conf(conf_text: str, silence_s: float) -> str:
    """Return *conf_text* with rules 2-4 scaled so rule2's trailing silence is *silence_s*.

    Parameters
    ----------
    conf_text : str
        The model's ``conf/model.conf`` (Kaldi ``--option=value`` lines).
    silence_s : float
        Rule2's new minimum trailing silence (s); rules 3 and 4 keep their ratio to it.

    Returns
    -------
    str
        The new text: other options unchanged, the three rules (re)written at the end.

    Raises
    ------
    ModelOverlayError
        *silence_s* outside 0.1-5 s.
    ModelInvalidError
        The existing rules are not numbers, or rule2's is not positive.
    """
    if not _MIN_S <= silence_s <= _MAX_S:
        raise ModelOverlayError(
            f"endpoint silence {silence_s:g} s is outside {_MIN_S:g}-{_MAX_S:g} s; vosk's default "
            "is 0.5 s (0.3 s ends captions sooner, at the cost of splitting at shorter pauses)"
        )
    rules = endpoint_rules(conf_text)
    if rules[2] <= 0:
        raise ModelInvalidError(f"model.conf has rule2 min-trailing-silence {rules[2]:g} s")
    factor = silence_s / rules[2]
    kept = [line for line in conf_text.splitlines() if not _RULE_RE.match(line)]
    new = [
        f"--endpoint.rule{n}.min-trailing-silence={round(rules[n] * factor, 3):g}"
        for n in (2, 3, 4)
    ]
    return "\n".join([*kept, *new]) + "\n"


def endpoint_overlay(info: ModelInfo, silence_s: float, root: Path) -> ModelInfo:
    """Return a model like *info* whose endpoint rules are scaled to *silence_s* (rule2).

    The overlay lives in ``root/<model>-ep<silence>-<hash of the model path>``: one directory of
    symlinks to the model's files plus a rewritten ``conf/model.conf``; it is built once
    (atomically, by renaming a finished temporary directory) and reused.

    Parameters
    ----------
    info : ModelInfo
        The resolved model (:func:`models.resolve_model`).
    silence_s : float
        Rule2's minimum trailing silence (s), 0.1-5.
    root : Path
        Directory for overlays (the broadcaster uses its state directory).

    Returns
    -------
    ModelInfo
        Same language and capabilities; ``path`` the overlay, ``name`` noting the rule.

    Raises
    ------
    ModelOverlayError
        Bad *silence_s*, or the overlay cannot be written.
    ModelInvalidError
        The model's ``conf/model.conf`` cannot be read or parsed.
    """
    conf = info.path / "conf" / "model.conf"
    try:
        text = conf.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelInvalidError(f"cannot read {str(conf)!r}: {exc}") from exc
    new_conf = rewrite_conf(text, silence_s)
    src = info.path.resolve()
    tag = hashlib.sha256(f"{src}\0{new_conf}".encode()).hexdigest()[:10]
    dest = root / f"{src.name}-ep{silence_s:g}-{tag}"
    named = replace(info, path=dest, name=f"{info.name} (endpoint {silence_s:g} s)")
    if (dest / "conf" / "model.conf").is_file():
        return named
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".overlay-", dir=root))
        try:
            for child in src.iterdir():
                if child.name != "conf":
                    os.symlink(child, tmp / child.name)
            (tmp / "conf").mkdir()
            for child in (src / "conf").iterdir():
                if child.name != "model.conf":
                    os.symlink(child, tmp / "conf" / child.name)
            (tmp / "conf" / "model.conf").write_text(new_conf, encoding="utf-8")
            try:
                tmp.rename(dest)
            except OSError:
                if not (dest / "conf" / "model.conf").is_file():  # not a concurrent twin
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise ModelOverlayError(
            f"cannot write the endpoint overlay of {info.name} in {str(root)!r}: {exc}; "
            "check that the state directory is writable"
        ) from exc
    return named
