"""An experiment (not built): names the folder itself gives to descriptions ("Tory leader Michael Howard").

    python benchmarks/descriptor_aliases.py var/bbc

A paraphrased question names people by what they are ("the Conservative leader", "Rupert Murdoch's chief
operating officer"). Every run of capitalised words of at least two in the folder is recorded with the 1 to 3
words before it; a phrase that comes before one name at least MIN_COUNT times and in at least MIN_SHARE of its
uses stands for that name. Prints, for each news dev question, the names its phrases stand for and whether
the evidence's article holds them, then how many questions of each kind were touched.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

NEWS = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "news_dev.jsonl"

TOK = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019.]*[A-Za-z0-9]|[A-Za-z0-9]")
SENT = re.compile(r"(?<=[.!?\"])\s+|\n+")
SMALL = frozenset("the a an of and in on at for to by with from his her its their said says".split())

def toks(text: str) -> list[str]:
    text = text.replace("-", " ")
    out = []
    for t in TOK.findall(text):
        t = re.sub(r"['\u2019]s$", "", t).strip(".")
        if t:
            out.append(t)
    return out

def cap(t: str) -> bool:
    return t[0].isupper() and not t.isupper() or (t.isupper() and len(t) > 1)

def mine(folder, max_desc=3, min_count=3, min_share=0.3):
    pair = defaultdict(Counter)
    total = Counter()
    for path in sorted(Path(folder).glob("*.txt")):
        for sent in SENT.split(path.read_text(encoding="utf-8")):
            words = toks(sent)
            low = [w.lower() for w in words]
            for n in range(1, max_desc + 1):
                for i in range(len(low) - n + 1):
                    total[" ".join(low[i:i + n])] += 1
            i = 0
            while i < len(words):
                if i > 0 and cap(words[i]):
                    j = i
                    while j < len(words) and cap(words[j]):
                        j += 1
                    run = words[i:j]
                    for k in range(len(run) - 1):  # name = run[k:], at least two words
                        name = " ".join(run[k:])
                        ctx = [w.lower() for w in words[max(0, i - max_desc):i] + run[:k]]
                        for n in range(1, max_desc + 1):
                            if len(ctx) >= n:
                                d = ctx[-n:]
                                if d[-1] in SMALL or d[0] in SMALL:
                                    continue
                                pair[" ".join(d)][name] += 1
                    i = j
                else:
                    i += 1
    table = {}
    for d, names in pair.items():
        name, c = names.most_common(1)[0]
        if c >= min_count and c / total[d] >= min_share:
            table[d] = (name, c, round(c / total[d], 2))
    return table

def expand(question, table, max_desc=3):
    low = [w.lower() for w in toks(question)]
    have = set(low)
    found = []
    for n in range(max_desc, 0, -1):
        for i in range(len(low) - n + 1):
            d = " ".join(low[i:i + n])
            if d in table:
                name = table[d][0]
                if not set(name.lower().split()) <= have and name not in [f[1] for f in found]:
                    found.append((d, name, table[d][1], table[d][2]))
    return found

def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: descriptor_aliases.py FOLDER [MIN_COUNT [MIN_SHARE]]")
    table = mine(sys.argv[1], min_count=int(sys.argv[2]) if len(sys.argv) > 2 else 3,
                 min_share=float(sys.argv[3]) if len(sys.argv) > 3 else 0.3)
    print(len(table), "descriptors", file=sys.stderr)
    texts = {p.stem: p.read_text() for p in Path(sys.argv[1]).glob("*.txt")}
    stats = defaultdict(Counter)
    for line in NEWS.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        q = item["turns"][-1]
        ex = expand(q, table)
        cat = item["category"]
        stats[cat]["questions"] += 1
        if ex:
            stats[cat]["expanded"] += 1
            src = item["evidence"][0]["source"] if item["evidence"] else None
            art = next((t for k, t in texts.items() if src and k.startswith(src)), "")
            good = [e for e in ex if e[1] in art]
            stats[cat]["name in article"] += bool(good)
            print(cat, item["id"], "|", q[:90], "|", [(d, n, c, s, n in art) for d, n, c, s in ex])
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
