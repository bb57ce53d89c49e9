"""Reference outputs of fastai's word tokenization (fastai's rules + spaCy's English tokenizer),
for the tests of src/text/. Dev-time only: needs spaCy (see tools/gen-spacy-data.py).

  /tmp/spacy-venv/bin/python tools/spacy_reference.py fixtures   # writes fixtures/text/spacy-cases.json
  /tmp/spacy-venv/bin/python tools/spacy_reference.py brown-sample BROWN.json  # fixtures/text/spacy-brown-sample.json
  /tmp/spacy-venv/bin/python tools/spacy_reference.py fuzz                 # fixtures/text/spacy-fuzz.json
  /tmp/spacy-venv/bin/python tools/spacy_reference.py tokenize IN.json OUT.json
      # IN: a JSON list of documents; OUT: {"raw": [[tokens]...], "fastai": [[tokens]...]}

The rule functions below restate fastai v2's `fastai/text/core.py` (Apache-2.0) so that the
reference is fastai's behaviour, not ours.
"""
import html
import json
import pathlib
import re
import sys

import spacy
from spacy.symbols import ORTH

UNK, PAD, BOS, EOS, FLD, TK_REP, TK_WREP, TK_UP, TK_MAJ = "xxunk xxpad xxbos xxeos xxfld xxrep xxwrep xxup xxmaj".split()
SPECIALS = [UNK, PAD, BOS, EOS, FLD, TK_REP, TK_WREP, TK_UP, TK_MAJ]


def fix_html(x):
    x = x.replace('#39;', "'").replace('amp;', '&').replace('#146;', "'").replace('nbsp;', ' ').replace(
        '#36;', '$').replace('\\n', "\n").replace('quot;', "'").replace('<br />', "\n").replace(
        '\\"', '"').replace('<unk>', UNK).replace(' @.@ ', '.').replace(' @-@ ', '-').replace('...', ' …')
    return html.unescape(x)


_re_rep = re.compile(r'(\S)(\1{2,})')
def replace_rep(t):
    return _re_rep.sub(lambda m: f' {TK_REP} {len(m.group(2)) + 1} {m.group(1)} ', t)


_re_wrep = re.compile(r'(?:\s|^)(\w+)\s+((?:\1\s+)+)\1(\s|\W|$)')
def replace_wrep(t):
    return _re_wrep.sub(lambda m: f' {TK_WREP} {len(m.group(2).split()) + 2} {m.group(1)} {m.group(3)}', t)


_re_spec = re.compile(r'([/#\\])')
def spec_add_spaces(t):
    return _re_spec.sub(r' \1 ', t)


_re_space = re.compile(' {2,}')
def rm_useless_spaces(t):
    return _re_space.sub(' ', t)


_re_all_caps = re.compile(r'(\s|^)([A-Z]+[^a-z\s]*)(?=(\s|$))')
def replace_all_caps(t):
    def _f(m):
        tok = f'{TK_UP} ' if len(m.groups()[1]) > 1 else ''
        return f"{m.groups()[0]}{tok}{m.groups()[1].lower()}"
    return _re_all_caps.sub(_f, t)


_re_maj = re.compile(r'(\s|^)([A-Z][^A-Z\s]*)(?=(\s|$))')
def replace_maj(t):
    def _f(m):
        tok = f'{TK_MAJ} ' if len(m.groups()[1]) > 1 else ''
        return f"{m.groups()[0]}{tok}{m.groups()[1].lower()}"
    return _re_maj.sub(_f, t)


def lowercase(t, add_bos=True, add_eos=False):
    return (f'{BOS} ' if add_bos else '') + t.lower().strip() + (f' {EOS}' if add_eos else '')


RULES = [fix_html, replace_rep, replace_wrep, spec_add_spaces, rm_useless_spaces, replace_all_caps, replace_maj, lowercase]


def apply_rules(t):
    for rule in RULES:
        t = rule(t)
    return t


def make_nlp():
    nlp = spacy.blank("en")
    for w in SPECIALS:
        nlp.tokenizer.add_special_case(w, [{ORTH: w}])
    return nlp


def replace_space(tok):
    return tok.replace(' ', '▁')


def tokenize_all(texts):
    nlp = make_nlp()
    raw = [[t.text for t in doc] for doc in nlp.pipe(texts)]
    fastai = [[replace_space(t.text) for t in doc] for doc in nlp.pipe([apply_rules(t) for t in texts])]
    return {"raw": raw, "fastai": fastai}


# Inputs whose spaCy tokenization the tests pin down: each exercises one tokenizer behaviour.
CASES = [
    "This isn't the easiest text.",
    "The U.S. dollar $1 is $1.00.",
    "&copy;   Fast.ai www.fast.ai/INDEX",
    "I LOVED it!!!! Best. Movie. Ever...",
    "no no no no way",
    "Raising Victor Vargas: A Review",
    "WOW!!! This is GREAT, isn't it? #1 and/or 2",
    "Hello   <br /><br />World",
    "…self.<br /><br />Whoosh... Banzai!!!",
    "I'm sure it's fine, don't you think? We can't, won't, shouldn't.",
    "They'll say you'd've known; she's here. Let's go, y'all! Gonna, gotta, cannot.",
    "Email me at jane.doe@example.com or visit https://example.org/path?q=1#frag today.",
    "Prices: $5, €10, £3.50, 100km, 5kg, 3pm, 5p.m., 10% off, 1,000,000 people.",
    "A feel-good, well-known state-of-the-art movie -- truly great — or not–maybe.",
    "Dr. Smith and Mr. Jones met Mrs. Brown at 5 St. James St. in Washington, D.C. on Jan. 5.",
    "(Parenthetical) [bracketed] {braced} \"quoted\" 'single' `backtick' ``double''",
    "Wait... what?! Really?? No!!! Ok…",
    "Emoticons :) :-( ;) <3 :D xD and ^_^ in text :P.",
    "Numbers: 3.14, -5, +7, 1/2, 2-3, 10:30, 4x4, 1st, 2nd, 3rd, 1990s, '90s.",
    "Unicode: naïve café Über straße Ελληνικά русский 東京 😀😀 emoji ©®™ °C.",
    "Line one.\nLine two.\n\nNew paragraph\twith a tab  and two spaces.",
    "Hyphen-ated e-mail co-operate re-enter pre- and post-war 1-year-old 3-D x-ray.",
    "Trailing punctuation at end,",
    "C++ and C# are languages; so is F#.",
    "It was the 'best' of times; it was the \"worst\" of times.",
    "He said: 'I can't'. She said \"no\".",
    "U.K., U.S.A. and e.g. i.e. etc. are abbreviations.",
    "Hashtags #nlp and mentions @user here.",
    "O'Neill's o'clock ma'am rock'n'roll",
    "www.google.com google.com fast.ai .fast.ai example.co.uk",
    "3:30pm 12am 11p.m. 2am-4pm",
    "She asked,\"Why?\"and left.",
    "Amounts like US$5 and C$10.",
    "Ellipsis...in the middle and..two dots.",
    "Sentence.Another sentence.A third.",
    "lower.Upper and Upper.lower and a.b.c",
    "ALL CAPS TEXT WITH NUMBERS 123 AND I'M HERE.",
    "Mixed McDonald's iPhone eBay NASA's USA-based.",
    "Tabs\tand\u00a0non-breaking\u2009thin spaces.",
    "xxbos xxmaj xxup xxrep 3 ! xxwrep 2 xxunk xxpad xxfld xxeos",
    "''Quoted'' and ``quoted'' in Brown style.",
    "He'd've gone. I'd rather not. It'd be fine. Who's there? What's up? Where'd he go?",
    "Ain't nothin' like doin' it, lovin' it.",
    "The year 1961's events; 1960s-era; mid-1950s.",
    "Semi;colons;everywhere and commas,without,spaces.",
    "Hmmmm... sooooo goooood!!!!!! ????",
    "A\u2014dash and a\u2013dash and a - spaced dash.",
    "Equation: a=b+c, x<y, y>z, p/q.",
    "Path C:\\Users\\name\\file.txt and /usr/bin/env.",
    "&amp;amp; &lt;3 &copy; &#39;quoted&#39; &quot;x&quot; caf&eacute; &#x263A; &unknown;",
    "Ends with newline\n",
    "  Leading spaces and trailing spaces  ",
]


def main():
    cmd = sys.argv[1]
    if cmd == "fixtures":
        out = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "text" / "spacy-cases.json"
        result = tokenize_all(CASES)
        cases = [{"text": t, "afterRules": apply_rules(t), "spacy": r, "fastai": f}
                 for t, r, f in zip(CASES, result["raw"], result["fastai"])]
        out.write_text(json.dumps({"spacy": spacy.__version__, "cases": cases}, ensure_ascii=False, indent=1) + "\n")
        print(f"wrote {len(cases)} cases to {out}")
    elif cmd == "brown-sample":
        # argv[2]: a JSON list of Brown documents (bench/brown-text.mjs's loadBrownDocs output).
        docs = json.loads(pathlib.Path(sys.argv[2]).read_text())
        picked = [docs[i] for i in (0, 175, 321)]  # 175 holds the cross-run matcher case
        result = tokenize_all(picked)
        out = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "text" / "spacy-brown-sample.json"
        out.write_text(json.dumps({"spacy": spacy.__version__, "docs": [
            {"text": t, "fastai": f} for t, f in zip(picked, result["fastai"])]}, ensure_ascii=False) + "\n")
        print(f"wrote {len(picked)} documents to {out}")
    elif cmd == "fuzz":
        # Random concatenations of tricky pieces (contractions, quotes, emoticons, units, URLs,
        # whitespace kinds...): they exercise affix order and the special-case matcher.
        import random
        rng = random.Random(1)
        pieces = ["a", "b", "The", "I", "it", "s", "n't", "'s", "'", "''", "``", '"', "(", ")", "[", "]", ".", "..",
                  "...", "…", ",", ";", ":", "!", "?", "-", "--", "—", "–", "/", "\\", "#", "@", "$", "£", "€", "%",
                  "&", "*", "+", "=", "<", ">", "_", "~", "^", "1", "2", "10", "3.5", "1,000", "km", "pm", "a.m.",
                  "U.S.", "Mr.", "e.g.", "www.", "google", ".com", "http://", "x.org", "co", "op", "don", "can",
                  "won", "ca", "wo", "em", "cause", "é", "É", "ß", "ω", "Ж", "東", "😀", "©", "°", "C", "F", "K",
                  "\u00a0", "\u2009", " ", " ", " ", "  ", "\n", "\n\n", "\t", "xxbos", "xxmaj", "xxup", "xxrep",
                  "3", "A", "B", "Mrs", "Dr", "St", "y'all", "gonna", "cannot", "o'clock", "ma'am", "lovin'",
                  "'em", "'cause", ":)", ":(", "<3", ":-)", "^_^", "C++", "and/or", "w/o", "'re", "'ll", "'d",
                  "'ve", "'m", "n", "t", "d", "ll", "ve", "re", "m"]
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(1000)]
        result = tokenize_all(texts)
        out = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "text" / "spacy-fuzz.json"
        out.write_text(json.dumps({"spacy": spacy.__version__, "cases": [
            [t, r, f] for t, r, f in zip(texts, result["raw"], result["fastai"])]}, ensure_ascii=False) + "\n")
        print(f"wrote {len(texts)} cases to {out}")
    elif cmd == "tokenize":
        texts = json.loads(pathlib.Path(sys.argv[2]).read_text())
        pathlib.Path(sys.argv[3]).write_text(json.dumps(tokenize_all(texts), ensure_ascii=False))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
