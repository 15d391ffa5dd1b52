#!/usr/bin/env python3
"""Generates the expectations of TestFmtMatchesPython (builtins/format_test.go)
from Python's own % operator.

    python3 builtins/testdata/fmt_cases.py        # Go table rows: paste them
                                                  # between the markers, gofmt
    python3 builtins/testdata/fmt_cases.py --all  # every case, as JSON lines

Each case is a template and the Starlark source of fmt's arguments, written
so that it is also Python source. fmt(t, *args) is Python's t % tuple(args),
or t % args[0] when the only argument is a dict. Values whose str/repr differ
between Python and Starlark (strings under %r, dicts under %s, floats such as
1e6 under %s) and bools (numbers in Python, not in Starlark) are left out
here and tested by hand in format_test.go.
"""
import itertools
import json
import random
import sys

INTS = ["0", "7", "-7", "255", "-255", "123456789", "1180591620717411303424", "-1180591620717411303424"]
FLOATS = ["0.0", "-0.0", "0.5", "1.5", "2.5", "-2.675", "3.14159", "1e-05", "0.0001", "0.000123456",
          "123456.789", "999999.5", "1e16", "1e22", "1.7976931348623157e308", "5e-324",
          'float("inf")', 'float("-inf")', 'float("nan")', "42", "-7"]
VALUES = {
    "d": INTS + ["3.7", "-3.7", "1e20", "-0.0", "0.999", '"7"', 'float("inf")', 'float("nan")'],
    "o": INTS + ["1.5", '"7"'],
    "c": ["65", "0x10ffff", '"é"', '"a"', "-1", "0x110000", '"ab"', "1.5"],
    "s": ['"abc"', '"éa"', '""', "42", "-1.5", "0.1", "2.0", "None", "True", "[1, 2]"],
    "r": ["42", "-1.5", "None", "True", "[1, 2]", "(1,)"],  # and %a
    "f": FLOATS + ['"x"'],
}
CONVS = {"d": "d", "i": "d", "u": "d", "o": "o", "x": "o", "X": "o",
         "e": "f", "E": "f", "f": "f", "F": "f", "g": "f", "G": "f",
         "c": "c", "s": "s", "r": "r", "a": "r"}
FLAGS = ["", "-", "+", " ", "#", "0", "-0", "+0", " 0", "#0", "+#", "-#0", "+ "]
WIDTHS = ["", "1", "7", "12"]
PRECS = ["", ".", ".0", ".1", ".3", ".12"]

# Hand-picked cases: several arguments, *, dicts, %%, errors.
EXTRA = [
    ("%.2f mL", "2.0 / 3"),
    ("%.1f %%", "12.345"),
    ("%s: %.3f mL at %d rpm", '"media", 1.23456, 500'),
    ("%-8s|%6.1f|", '"media", 12.345'),
    ("%*d|", "5, 42"),
    ("%-*d|", "5, 42"),
    ("%*d|", "-5, 42"),
    ("%.*f", "2, 3.14159"),
    ("%.*f", "-2, 3.14159"),
    ("%*.*f|", "8, 3, 3.14159"),
    ("%*.*f|", "-8, 2, 3.14159"),
    ("%.*s", '2, "abc"'),
    ("%*s", '1.5, "x"'),
    ("%.*d", '"a", 2'),
    ("%*s", "1,"),
    ("%(v).2f mL", '{"v": 1}'),
    ("%(v)08.3f|%(n)-4d|%(s)s", '{"v": -2.5, "n": 7, "s": "x"}'),
    ("%(v)s %(v)r", '{"v": 1.5}'),
    ("%(a(b))s", '{"a(b)": 2}'),
    ("%(a)s %(b)s", '{"a": 1}'),
    ("%(a", '{"a": 1}'),
    ("%(a)s", "1"),
    ("%(a)s", "1, 2"),
    ("%(a)*d", '{"a": 1}'),
    ("%(a)s %s", '{"a": 1}'),
    ("no conversions", '{"a": 1}'),
    ("%(a)%", '{"a": 1}'),
    ("%%", ""),
    ("100%%", ""),
    ("%%%d%%", "5"),
    ("%5%", "1"),
    ("%", ""),
    ("abc%", "1"),
    ("%5", "1"),
    ("%.", "1"),
    ("%l", "1"),
    ("%.2", "1"),
    ("%ld %hi %Lf", "1, 2, 3.5"),
    ("%k", "1"),
    ("%a", "1"),
    ("%s %s", "1"),
    ("%s", "1, 2"),
    ("x", "5"),
    ("", ""),
    ("", "5"),
    ("%s", "(1, 2)"),
    ("%s %s", "(1, 2), [3]"),
    ("%d items", "3"),
    ("%.0f", "0.5"),
    ("%.0f", "1.5"),
    ("%.2f", "2.675"),
    ("%.2f", "1.005"),
    ("%.3f", "1.0005"),
    ("%.50f", "0.1"),
    ("%.20e", "0.1"),
    ("%.17g", "0.1"),
    ("%.30g", "1 / 3"),
    ("%f", "1e300"),
    ("%.0f", "1e22"),
    ("%g", "100000.0"),
    ("%g", "1000000.0"),
    ("%g", "0.0001"),
    ("%g", "0.00001"),
    ("%.0g", "123.0"),
    ("%.1g", "0.95"),
    ("%.2g", "9.95"),
    ("%#.3g", "100.0"),
    ("%#g", "1e10"),
    ("%#.0e", "12345.0"),
    ("%#.0f", "2.5"),
    ("%f", "1180591620717411303424"),
    ("%f", "1" + "0" * 400),
    ("%e", "-" + "1" + "0" * 400),
    ("%d", "1" + "0" * 400),
    ("%x", "-1000000000000000000000000000000"),
    ("%#o", "8"),
    ("%#x", "0"),
    ("%#.0x", "0"),
    ("%.0x", "0"),
    ("%.0d", "0"),
    ("%+x", "0"),
    ("%+#08.4X", "255"),
    ("% +d", "5"),
    ("%+ d", "5"),
    ("%0-5d|", "5"),
    ("% 05d", "-5"),
    ("%05s|%05c|%05r", '"ab", "c", 1.5'),
    ("%.0c|%.0r", '"c", 12'),
    ("%c%c%c", '112, "i", 111'),
    ("%5c|%-3c|", '"é", 97'),
    ("%.1s|%-4s|%4s", '"éa", "éa", "µL"'),
    ("%x", '"a"'),
    ("%e", "None"),
    ("%d", "[1]"),
]


def starlark_and_python(args):
    vals = eval("[" + args + "]")
    if len(vals) == 1 and isinstance(vals[0], dict):
        return vals[0]
    return tuple(vals)


def case(tmpl, args):
    try:
        return {"t": tmpl, "a": args, "w": tmpl % starlark_and_python(args)}
    except Exception as e:
        return {"t": tmpl, "a": args, "e": "%s: %s" % (type(e).__name__, e)}


def grid():
    for conv, group in CONVS.items():
        for fl, w, p, v in itertools.product(FLAGS, WIDTHS, PRECS, VALUES[group]):
            yield ("%" + fl + w + p + conv, v)


def go(s):
    return json.dumps(s, ensure_ascii=False)


def main():
    cases = [case(t, a) for t, a in EXTRA]
    every = list(grid())
    if "--all" in sys.argv:
        for c in cases + [case(t, a) for t, a in every]:
            print(json.dumps(c, ensure_ascii=False))
        return
    rnd = random.Random(1)
    cases += [case(t, a) for t, a in rnd.sample(every, 700)]
    for c in cases:
        if "e" in c:
            print("\t{%s, %s, fmtError}, // %s" % (go(c["t"]), go(c["a"]), c["e"]))
        else:
            print("\t{%s, %s, %s}," % (go(c["t"]), go(c["a"]), go(c["w"])))


main()
