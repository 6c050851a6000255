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

    argv: list[str] | None = None
    """The arguments being parsed (set by the caller): an unknown flag is reported by the top parser, and the
    help it points to is then that of the command the words name."""

    def error(self, message: str) -> NoReturn:
        guess = _close_choice(message)
        prog = self._command_named(self.argv or []).prog
        fix = f"did you mean {guess!r}? see: {prog} --help" if guess else f"see: {prog} --help"
        print(f"citebot: error: {message}; {fix}", file=sys.stderr)
        raise SystemExit(2)


    def _command_named(self, argv: list[str]) -> argparse.ArgumentParser:
        """The parser of the (sub)command argv's words name ("citebot index status"), else this one."""
        parser: argparse.ArgumentParser = self
        for word in argv:
            commands = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
            if commands is not None and word in commands.choices:
                parser = commands.choices[word]
        return parser


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
