"""Row rules given as expressions over a dataset's columns (``qbjax filter --where EXPR``).

A rule is one expression string, e.g. ``"E0 > 1e-12 and ratio >= 1"`` or ``"abs(j0_1) > 1e-12"``,
evaluated by pandas (:meth:`pandas.DataFrame.eval`, ``engine="python"``) on the part's columns as
NumPy arrays, so the semantics are NumPy's (IEEE): with a NaN operand ``< <= > >= ==`` are false and
``!=`` is true (``x != x`` is the NaN test, ``abs(x) < inf`` the finite test), ``0 / 0`` is NaN.

The language is Python's expression syntax with the columns as names (plain identifiers): numbers,
``True``/``False``, ``inf``; ``+ - * / // % **``; ``== != < <= > >=`` (chained: ``0 < x < 1``);
``and or not`` on booleans; ``x in [1, 2]``; the functions of :data:`FUNCTIONS` (``abs``, ``sqrt``,
``exp``, ``log``, ...).  Everything else (attribute access, indexing, other calls, strings,
``& | ~`` (write ``and or not``), ``@`` variables, backticks, assignment) is refused before pandas
sees it: a rule reads columns and has no side effects.  Only scalar columns can be used (not a list
column such as ``"float64[5]"``), and a rule must give one boolean per row (or a boolean constant).

:func:`compile_rules` checks rules against a dataset's columns (``ValueError``, one line, naming the
rule and the problem); :func:`rule_masks` evaluates them on a part.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np

from .store import arrow_type, one_line

__all__ = ["FUNCTIONS", "Rule", "compile_rules", "rule_masks"]

#: the functions a rule may call (pandas.eval's math functions)
FUNCTIONS = ("abs", "sqrt", "exp", "log", "log10", "log1p", "expm1", "floor", "ceil", "sin", "cos", "tan",
             "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh")
#: names a rule may use besides the columns (pandas.eval's constants)
_CONSTANTS = ("inf", "Inf")
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
            ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
            ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
            ast.Call, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple)
_WHAT = {ast.Attribute: "attribute access (x.y)", ast.Subscript: "indexing (x[i])",
         ast.BitAnd: "the operator & (write and)", ast.BitOr: "the operator | (write or)",
         ast.Invert: "the operator ~ (write not)", ast.BitXor: "the operator ^",
         ast.IfExp: "a conditional (a if c else b)", ast.Lambda: "lambda", ast.NamedExpr: "assignment (:=)",
         ast.LShift: "the operator <<", ast.RShift: "the operator >>", ast.MatMult: "the operator @",
         ast.Is: "the operator is", ast.IsNot: "the operator is not"}
_LIST_TYPE = re.compile(r"\w+\[\d+(?:,\d+)*\]")


@dataclass(frozen=True)
class Rule:
    """One checked rule: its text (white space folded: the key of its count) and the columns it reads,
    in dataset order."""

    text: str
    columns: tuple[str, ...]


def _names(text: str, tree, columns: dict) -> tuple[str, ...]:
    """The columns that the parsed rule ``tree`` reads; ``ValueError`` for a construct, function,
    constant or name that rules do not allow."""
    called = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            what = _WHAT.get(type(node), type(node).__name__)
            raise ValueError(f"rule {text!r} uses {what}, which rules do not allow")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                what = _WHAT.get(type(node.func), "a call of an expression")
                raise ValueError(f"rule {text!r} uses {what}, which rules do not allow")
            if node.func.id not in FUNCTIONS or node.keywords:
                raise ValueError(f"rule {text!r} calls {node.func.id}(...); rules may call only "
                                 f"{', '.join(FUNCTIONS)}")
            called.add(id(node.func))
        elif isinstance(node, ast.Constant) and (isinstance(node.value, (str, bytes, complex))
                                                 or node.value is None or node.value is Ellipsis):
            raise ValueError(f"rule {text!r} uses the constant {node.value!r}; rules compare numbers and booleans")
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}
    unknown = sorted(used - set(columns) - set(_CONSTANTS))
    if unknown:
        raise ValueError(f"rule {text!r}: unknown column {unknown[0]!r}; the dataset's columns: {', '.join(columns)}")
    listed = [c for c in columns if c in used and _LIST_TYPE.fullmatch(str(columns[c]))]
    if listed:
        raise ValueError(f"rule {text!r}: column {listed[0]!r} is a list column ({columns[listed[0]]}); "
                         "rules use scalar columns only")
    return tuple(c for c in columns if c in used)


def _value(text: str, frame):
    """``frame.eval(text)`` (pandas, the python engine, no outside names); ``ValueError`` if it fails."""
    try:
        with np.errstate(all="ignore"):
            return frame.eval(text, engine="python", parser="pandas", local_dict={}, global_dict={})
    except Exception as err:  # noqa: BLE001 - pandas raises many types (TypeError, NotImplementedError, ...)
        raise ValueError(f"rule {text!r} does not evaluate on the dataset's columns ({one_line(err)})") from None


def _boolean(value) -> bool:
    return isinstance(value, (bool, np.bool_)) or getattr(value, "dtype", None) == np.bool_


def _evaluate(text: str, frame, n: int) -> np.ndarray:
    """The rule ``text`` on ``frame`` (a ``pandas.DataFrame`` of ``n`` rows) as a boolean array;
    ``ValueError`` if it does not evaluate or does not give one boolean per row."""
    value = _value(text, frame)
    if isinstance(value, (bool, np.bool_)):
        return np.full(n, bool(value))
    if not _boolean(value) or np.ndim(value) != 1 or len(value) != n:
        dtype = getattr(value, "dtype", None)
        got = f"{dtype} values" if dtype is not None else f"a {type(value).__name__}"
        raise ValueError(f"rule {text!r} is not boolean (it gives {got}); a rule must be true or false for each row")
    return np.asarray(value, dtype=bool)


def _check_operands(text: str, tree, sample) -> None:
    """The operands of ``and``, ``or`` and ``not`` must be booleans (pandas would coerce numbers)."""
    for node in ast.walk(tree):
        operands = node.values if isinstance(node, ast.BoolOp) else (
            [node.operand] if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) else [])
        for operand in operands:
            sub = ast.unparse(operand)
            if not _boolean(_value(sub, sample)):
                op = "not" if isinstance(node, ast.UnaryOp) else type(node.op).__name__.lower()
                raise ValueError(f"rule {text!r}: the operand {sub!r} of {op} is not boolean")


def _sample(columns: dict, names):
    """A one-row ``pandas.DataFrame`` of the columns ``names``, each holding a one (True for bool) of its type."""
    import pandas as pd

    return pd.DataFrame({c: np.ones(1, dtype=arrow_type(str(columns[c])).to_pandas_dtype()) for c in names},
                        index=pd.RangeIndex(1))


def compile_rules(where, columns: dict) -> list[Rule]:
    """The rules ``where`` (one expression string, or a list of them, applied in order) checked against
    a dataset's ``columns`` (``{name: type string}``, an identity's ``"columns"``).

    Each rule is parsed (Python's ``ast``; see the module docstring for the language), its columns
    looked up, and it is evaluated on one sample row, which must give a boolean.  Raises ``ValueError``
    (one line, naming the rule) if ``where`` is empty or holds a non-string, an empty or repeated rule,
    a rule that does not parse, uses an unknown column (the message lists the dataset's columns), a list
    column or a construct rules do not allow, or is not boolean.
    """
    if isinstance(where, str):
        where = [where]
    if not isinstance(where, (list, tuple)) or not where:
        raise ValueError("where: give one rule or a list of rules (expression strings, e.g. 'E0 > 1e-12')")
    rules, seen = [], {"total"}
    for raw in where:
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"where: every rule must be a non-empty expression string; got {raw!r}")
        text = " ".join(raw.split())
        if text in seen:
            raise ValueError(f"where: rule {text!r} is given twice (or is named 'total', the key of the row count)")
        seen.add(text)
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as err:
            raise ValueError(f"rule {text!r} does not parse ({err.msg})") from None
        names = _names(text, tree, columns)
        sample = _sample(columns, names)
        _check_operands(text, tree, sample)
        _evaluate(text, sample, 1)
        rules.append(Rule(text, names))
    return rules


def rule_masks(rules, table) -> list[np.ndarray]:
    """Cumulative keep-masks after each rule of ``rules`` (:func:`compile_rules`) on ``table`` (a
    ``pyarrow.Table`` holding at least the rules' columns): mask ``i`` is true where rules ``0..i`` hold.
    Only the rules' columns are taken from ``table`` (as NumPy arrays, without copying where Arrow
    allows it).  Raises ``ValueError`` if a rule does not evaluate to one boolean per row."""
    import pandas as pd

    names = list(dict.fromkeys(c for r in rules for c in r.columns))
    frame = pd.DataFrame({c: table.column(c).to_numpy() for c in names}, index=pd.RangeIndex(table.num_rows),
                         copy=False)
    keep = np.ones(table.num_rows, dtype=bool)
    masks = []
    for rule in rules:
        keep = keep & _evaluate(rule.text, frame, table.num_rows)
        masks.append(keep)
    return masks
