"""The synthetic web crawl: every clean document as one good HTML page, plus labelled junk.

Ground truth per URL goes to labels.jsonl so the data stage's precision and recall can be
measured. Junk kinds and the filter that should catch each:
  duplicate / near-duplicate  refetches under a tracking URL (byte-identical), mirrors,
                              lightly edited copies                 -> MinHash dedup
  spam                        keyword stuffing                      -> Gopher repetition/quality
  lorem                       lorem ipsum filler                    -> language ID / stop words
  language                    German, French, Spanish pages         -> language ID
  short                       a few words of main text              -> C4 / FineWeb length
  blocklist                   adult domains ("porn", "xxx", "sex")  -> URL filter
Good pages may contain e-mail addresses or public IPv4s (keep=true, pii=true) -> PII masking.
For a duplicate set, the first page in WARC order is the keeper.
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass

from chatforge.world import foreign

# Substrings a URL filter bans outright; good domains and slugs must never contain them.
BANNED = ("porn", "xxx", "sex", "adult", "nude", "escort", "casino")

PREFIXES = ["daily", "open", "north", "blue", "green", "river", "metro", "local", "bright", "pine",
            "maple", "silver", "harbor", "valley", "summit", "coastal", "oak", "amber", "cedar", "willow"]
KIND_SUFFIXES = {
    "news": ["news", "times", "post", "gazette", "herald", "courier"],
    "encyclopedia": ["wiki", "pedia", "archive", "facts", "atlas"],
    "bio": ["profiles", "people", "bios", "whoswho", "portraits", "notes"],
    "forum": ["forum", "board", "talk", "community"],
    "story": ["stories", "tales", "storytime", "fables"],
}
TLDS = [".com", ".org", ".net", ".info"]
GENRE_KIND = {"bio": ["bio", "encyclopedia"], "encyclopedia": ["encyclopedia"], "news": ["news"],
              "forum": ["forum"], "story": ["story"], "quiz": ["bio", "encyclopedia"],
              "faq": ["bio", "encyclopedia"]}
MIRRORS = ["webmirror-archive.net", "pagecopy.org", "allmirror.info", "content-aggregator.com",
           "readlater-cache.net", "syndicated-feeds.org"]

COOKIES = ["We use cookies to improve your experience on our site. "
           "By continuing you agree to our use of cookies.",
           "This website uses cookies. Some are essential, others help us improve the site.",
           "Cookies help us deliver our services. Accept all cookies or manage your preferences."]
FOOTERS = ["All rights reserved.", "Content is provided for information only.",
           "Made with care by a small team.", "Unauthorized reproduction is prohibited."]


@dataclass
class Site:
    domain: str
    kind: str
    name: str
    style: int
    ip: str


@dataclass
class Page:
    url: str
    html: str
    keep: bool
    reason: str | None
    doc_id: str | None
    pii: bool
    lang: str
    ip: str

    def label(self) -> dict:
        return {"url": self.url, "keep": self.keep, "reason": self.reason, "doc_id": self.doc_id,
                "pii": self.pii, "lang": self.lang}


def _clean(name: str) -> bool:
    return not any(b in name for b in BANNED)


def make_sites(rng: random.Random, n: int) -> list[Site]:
    kinds = list(KIND_SUFFIXES)
    sites, used = [], set()
    while len(sites) < max(n, len(kinds)):
        kind = kinds[len(sites) % len(kinds)]  # every kind gets sites
        dom = rng.choice(PREFIXES) + rng.choice(KIND_SUFFIXES[kind]) + rng.choice(TLDS)
        if dom in used or not _clean(dom):
            continue
        used.add(dom)
        name = dom.split(".")[0].capitalize()
        sites.append(Site(dom, kind, name, rng.randrange(3),
                          f"93.184.{rng.randint(0, 255)}.{rng.randint(1, 254)}"))
    return sites


def slug(title: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
    return s if _clean(s) else "page"


def render(site: Site, title: str, paragraphs: list[str], related: list[tuple[str, str]],
           rng: random.Random, lang: str = "en", nav: list[str] | None = None,
           cookie: str | None = None) -> str:
    e = html.escape
    nav = nav or ["Home", "News", "People", "Places", "About", "Contact"]
    cookie = cookie or rng.choice(COOKIES)
    nav_html = "".join(f'<li><a href="/{e(x.lower())}/">{e(x)}</a></li>' for x in nav)
    body = "\n".join(f"<p>{e(p)}</p>" for p in paragraphs)
    rel = "".join(f'<li><a href="{e(u)}">{e(t)}</a></li>' for u, t in related)
    cookie_html = (f'<div class="cookie-banner" id="cookie-consent"><p>{e(cookie)}</p>'
                   f'<button>OK</button> <a href="/privacy">Privacy policy</a></div>')
    head = (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{e(title)} | {e(site.name)}</title>\n"
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n</head>\n')
    header = (f'<header><div class="logo"><a href="/">{e(site.name)}</a></div>'
              f'<nav><ul>{nav_html}</ul></nav></header>')
    footer = (f'<footer><p>&copy; 2024 {e(site.name)}. {e(rng.choice(FOOTERS))}</p>'
              f'<p><a href="/privacy">Privacy</a> | <a href="/terms">Terms of use</a> | '
              f'<a href="/contact">Contact</a></p></footer>')
    aside = f'<aside class="related"><h3>Related</h3><ul>{rel}</ul></aside>' if rel else ""
    article = f'<article><h1>{e(title)}</h1>\n{body}\n</article>'
    if site.style == 0:
        main = f'{cookie_html}\n{header}\n<main>\n{article}\n{aside}\n</main>\n{footer}'
    elif site.style == 1:
        main = (f'{header}\n<div class="wrap"><div class="sidebar">{aside}'
                f'<div class="ad">Advertisement</div></div>\n<div class="content">{article}'
                f'<div class="share">Share this page: Facebook | Twitter | E-mail</div></div></div>\n'
                f'{footer}\n{cookie_html}')
    else:
        main = (f'{header}\n<div id="breadcrumbs"><a href="/">Home</a> &gt; {e(title)}</div>\n'
                f'<main>{article}\n<section class="comments"><h3>Comments</h3><p>Comments are '
                f'closed.</p></section></main>\n{aside}\n{footer}\n{cookie_html}')
    return f"{head}<body>\n{main}\n</body>\n</html>\n"


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def shingles(text: str, n: int = 5) -> set:
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i:i + n]) for i in range(max(1, len(w) - n + 1))}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / max(1, len(x | y))


NEAR_PRE = ["Reposted from a reader.", "Shared by our editors.", "Via our partner site.", "Update:"]
NEAR_POST = ["Thanks for reading.", "Share this with your friends.", "More articles soon.",
             "Posted in the archive."]


def near_edit(text: str, rng: random.Random) -> str:
    """A lightly edited copy: a short line added at the start or the end (facts unchanged).

    One edit keeps 5-gram Jaccard >= ~0.9 for our >= 60-word documents, where 14x8-band MinHash
    catches a pair with probability > 0.999; two edits (~0.86) let about 1 in 100 slip through.
    """
    if rng.random() < 0.5:
        return rng.choice(NEAR_PRE) + " " + text
    return text + " " + rng.choice(NEAR_POST)


SPAM_KW = ["cheap watches", "best sunglasses", "phone cases", "vitamin pills", "fast loans",
           "cheap flights", "weight loss tea", "designer bags", "crypto profits", "free ringtones"]
SPAM_DOMAINS = ["best-deals-online.biz", "cheap-buy-now.info", "top-discount-shop.net",
                "megasale-outlet.com", "superprice-deals.biz", "click-save-more.info"]


def spam_text(rng: random.Random) -> tuple[str, str]:
    kw = rng.choice(SPAM_KW)
    bits = [f"buy {kw}", f"cheap {kw}", f"best {kw} online", f"{kw} discount", f"{kw} sale",
            f"order {kw} now", f"{kw} free shipping", f"top {kw}"]
    words = " ".join(rng.choice(bits) for _ in range(rng.randint(25, 45)))
    return f"Best {kw} - buy {kw} cheap", words.capitalize() + "!"


LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
         "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris "
         "nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse "
         "cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui "
         "officia deserunt mollit anim id est laborum").split()


def lorem_text(rng: random.Random) -> str:
    sents = []
    for _ in range(rng.randint(6, 12)):
        w = [rng.choice(LOREM) for _ in range(rng.randint(6, 14))]
        sents.append(" ".join(w).capitalize() + ".")
    return " ".join(sents)


SHORT = ["Coming soon.", "Page under construction.", "404: page not found.", "Thanks for visiting!",
         "Subscribe to our newsletter.", "Login required.", "This page has moved.", "Nothing here yet."]
# Every adult domain carries "porn" or "xxx", the words URL filters ban outright.
ADULT_WORDS = [("hot", "xxx", "videos"), ("free", "porn", "tube"), ("live", "xxx", "cams"),
               ("xxx", "dating", "now"), ("porn", "star", "pics"), ("sexy", "porn", "chat"),
               ("best", "xxx", "clips"), ("amateur", "porn", "hub")]
ADULT_TEXT = ("You must be 18 years or older to enter this website. By clicking enter you confirm "
              "that you are of legal age in your country. Thousands of new videos every day, free "
              "registration, no credit card needed. Click here to enter the members area and start "
              "watching now. Join our community of millions of users from all over the world today.")


def _site_for(genre: str, sites: list[Site], rng: random.Random) -> Site:
    return rng.choice([s for s in sites if s.kind in GENRE_KIND[genre]])


class _Urls:
    """Page URLs, each made unique with a -2, -3, ... suffix."""

    def __init__(self):
        self.taken: set[str] = set()

    def new(self, domain: str, section: str, title: str) -> str:
        base = f"https://{domain}/{section}/{slug(title)}"
        url, k = f"{base}.html", 1
        while url in self.taken:
            k += 1
            url = f"{base}-{k}.html"
        self.taken.add(url)
        return url


def _good_pages(docs: list[dict], sites: list[Site], urls: _Urls, rng: random.Random) -> list[Page]:
    """One page per document on a site of its genre, linking to a few pages of the same site."""
    doc_site = {d["id"]: _site_for(d["genre"], sites, rng) for d in docs}
    doc_url = {d["id"]: urls.new(doc_site[d["id"]].domain, d["genre"], d["title"]) for d in docs}
    by_site: dict[str, list[str]] = {}
    for d in docs:
        by_site.setdefault(doc_site[d["id"]].domain, []).append(d["id"])
    titles = {d["id"]: d["title"] for d in docs}

    def related(site: Site, exclude: str) -> list[tuple[str, str]]:
        pool = [i for i in by_site.get(site.domain, []) if i != exclude]
        return [(doc_url[i], titles[i]) for i in rng.sample(pool, min(len(pool), rng.randint(3, 5)))]

    good = []
    for d in docs:
        site = doc_site[d["id"]]
        h = render(site, d["title"], paragraphs(d["text"]), related(site, d["id"]), rng)
        good.append(Page(doc_url[d["id"]], h, True, None, d["id"], bool(d.get("pii")), "en", site.ip))
    return good


def _copies(docs: list[dict], good: list[Page], cfg, urls: _Urls,
            rng: random.Random) -> list[tuple[int, Page]]:
    """Copies of good documents, exact and near, each with the position of its original."""
    mirror_sites = [Site(m, "mirror", m.split(".")[0].replace("-", " ").title(), rng.randrange(3),
                         f"104.21.{rng.randint(0, 255)}.{rng.randint(1, 254)}") for m in MIRRORS]
    n_dup = round(cfg.duplicate_fraction * len(docs))
    n_near = round(cfg.near_duplicate_fraction * len(docs))
    picks = rng.sample(range(len(docs)), min(len(docs), n_dup + n_near))
    pos_of = {p.doc_id: i for i, p in enumerate(good)}
    copies: list[tuple[int, Page]] = []
    orig_page = {p.doc_id: p for p in good}
    for j, di in enumerate(picks):
        d = docs[di]
        near = j >= n_dup
        if not near and j % 3 == 0:
            # The same page fetched again under a tracking-parameter URL: byte-identical HTML.
            o = orig_page[d["id"]]
            url = f"{o.url}?utm_source={rng.choice(['feed', 'newsletter', 'social'])}"
            urls.taken.add(url)
            page = Page(url, o.html, False, "duplicate", d["id"], o.pii, "en", o.ip)
        else:
            site = rng.choice(mirror_sites)
            text = near_edit(d["text"], rng) if near else d["text"]
            h = render(site, d["title"], paragraphs(text), [], rng)
            page = Page(urls.new(site.domain, "copy", d["title"]), h, False,
                        "near-duplicate" if near else "duplicate", d["id"], bool(d.get("pii")), "en", site.ip)
        copies.append((pos_of[d["id"]], page))
    return copies


def _foreign(cfg, urls: _Urls, rng: random.Random) -> list[Page]:
    out = []
    for lang, tld in (("de", ".de"), ("fr", ".fr"), ("es", ".es")):
        b = foreign.BOILER[lang]
        for _ in range(cfg.n_foreign_per_lang):
            title, text = foreign.page_text(lang, rng)
            site = Site(f"{rng.choice(PREFIXES)}-{lang}-{rng.randint(1, 99)}{tld}", "foreign",
                        title.split()[-1], rng.randrange(3),
                        f"85.13.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
            out.append(Page(urls.new(site.domain, lang, title),
                            render(site, title, [text], [], rng, lang=lang, nav=b["nav"], cookie=b["cookie"]),
                            False, "language", None, False, lang, site.ip))
    return out


def _junk(sites: list[Site], cfg, urls: _Urls, rng: random.Random) -> list[Page]:
    """Pages with no source document: spam, lorem ipsum, other languages, too short, blocklisted."""
    junk: list[Page] = []
    for _ in range(cfg.n_spam):
        title, text = spam_text(rng)
        site = Site(rng.choice(SPAM_DOMAINS), "spam", "Deals", rng.randrange(3), "198.51.100.7")
        junk.append(Page(urls.new(site.domain, "offer", title), render(site, title, [text], [], rng),
                         False, "spam", None, False, "en", site.ip))
    for _ in range(cfg.n_lorem):
        site = rng.choice(sites)
        title = " ".join(rng.sample(LOREM, 3)).capitalize()
        junk.append(Page(urls.new(site.domain, "draft", title),
                         render(site, title, [lorem_text(rng)], [], rng), False, "lorem", None, False,
                         "la", site.ip))
    junk += _foreign(cfg, urls, rng)
    for _ in range(cfg.n_short):
        site = rng.choice(sites)
        text = rng.choice(SHORT)
        junk.append(Page(urls.new(site.domain, "misc", text), render(site, text, [text], [], rng),
                         False, "short", None, False, "en", site.ip))
    for _ in range(cfg.n_blocklist):
        words = rng.choice(ADULT_WORDS)
        dom = "-".join(words) + rng.choice(TLDS)
        site = Site(dom, "adult", "".join(w.capitalize() for w in words), rng.randrange(3), "203.0.113.9")
        title = f"{site.name} - enter"
        junk.append(Page(urls.new(dom, "videos", title), render(site, title, [ADULT_TEXT], [], rng),
                         False, "blocklist", None, False, "en", site.ip))
    return junk


def build_pages(docs: list[dict], cfg, rng: random.Random) -> list[Page]:
    """All pages in WARC order: good pages shuffled, junk interleaved, copies after originals."""
    sites = make_sites(rng, cfg.n_domains)
    urls = _Urls()
    good = _good_pages(docs, sites, urls, rng)
    rng.shuffle(good)
    order: list[Page] = list(good)
    copies = _copies(docs, good, cfg, urls, rng)
    junk = _junk(sites, cfg, urls, rng)
    # Interleave: junk anywhere; each copy at a random point after its original. Insert copies
    # from the back so earlier insert positions stay valid.
    for page in junk:
        order.insert(rng.randint(0, len(order)), page)
    index = {p.url: i for i, p in enumerate(order)}
    placed = []
    for orig_pos, page in copies:
        after = index[good[orig_pos].url]
        placed.append((rng.randint(after + 1, len(order)), page))
    for pos, page in sorted(placed, key=lambda x: -x[0]):
        order.insert(pos, page)
    return order
