"""How the command line reads its arguments: every mistake is one `citebot: error:` line with the way to fix it,
not argparse's usage block."""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line naming the argument at fault and the help that shows the right
    form; its subcommands' parsers are of the same class (argparse makes them with type(parser))."""

    def error(self, message: str) -> NoReturn:
        guess = _close_choice(message)
        fix = f"did you mean {guess!r}? see: {self.prog} --help" if guess else f"see: {self.prog} --help"
        print(f"citebot: error: {message}; {fix}", file=sys.stderr)
        raise SystemExit(2)


def _close_choice(message: str) -> str | None:
    """For argparse's "invalid choice: 'askk' (choose from 'ask', ...)", the choice nearest to what was typed."""
    found = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if not found:
        return None
    choices = re.findall(r"'([^']*)'", found[2])
    close = difflib.get_close_matches(found[1], choices, n=1, cutoff=0.6)
    return close[0] if close else None


def positive_int(flag: str, example: int) -> Callable[[str], int]:
    """An argparse type for a whole number of at least 1, whose error says which flag and gives an example."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise argparse.ArgumentTypeError(
                f"{value!r} is not a whole number of at least 1 (for example: {flag} {example})")
        return number

    parse.__name__ = "whole number"
    return parse
