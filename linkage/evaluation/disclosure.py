"""Statistical disclosure control for published count tables.

Every count table that leaves the workbench goes through :func:`protect_counts`:

1. **Primary suppression**: person-based cells below ``threshold`` (default 10) are withheld.
   Zero cells are published unless ``suppress_zeros`` is set (a structural zero discloses nothing
   about a person; set it when zeros themselves are sensitive).
2. **Secondary (complementary) suppression**: further cells are withheld until no suppressed cell
   can be recovered exactly from the published cells, row totals, column totals and grand total.
   Recoverability is checked by linear programming (:func:`audit_suppression`, scipy ``linprog``):
   for each suppressed cell we solve for its smallest and largest value consistent with every
   published figure and non-negativity; a cell whose range is narrower than one unit is exposed.
3. **Rounding**: every published count (cells and totals) is rounded to the nearest ``rounding_base``
   (halves rounded up). Totals are rounded independently, so rows need not add up exactly.

Each step is written to a disclosure log (which table, which cell, what was done and why) that the
report publishes. The log never records an original value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from linkage.errors import ConfigError, LinkageError
from linkage.evaluation.rates import wilson_interval

logger = logging.getLogger(__name__)

__all__ = [
    "DisclosureSettings",
    "ProtectedTable",
    "PublishedCells",
    "audit_suppression",
    "audit_tables",
    "widen_across_tables",
    "protect_counts",
    "protect_rates",
    "round_to_base",
    "rounded_rate",
    "small_count_mask",
    "RATE_DECIMALS",
    "LOG_COLUMNS",
]

LOG_COLUMNS = ["table", "row", "column", "action", "reason"]
TOTAL = "Total"


@dataclass(frozen=True)
class DisclosureSettings:
    """Disclosure-control parameters (from the ``disclosure:`` block of a trailblazer config)."""

    threshold: int = 10
    rounding_base: int = 5
    suppress_zeros: bool = False
    secondary: bool = True

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ConfigError("DisclosureSettings", problems)

    def problems(self) -> list[str]:
        """Every problem with these settings, each naming the field and value."""
        out = []
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int) or self.threshold < 1:
            out.append(f"disclosure.threshold: must be a whole number >= 1, got {self.threshold!r}")
        if (
            isinstance(self.rounding_base, bool)
            or not isinstance(self.rounding_base, int)
            or self.rounding_base < 1
        ):
            out.append(f"disclosure.rounding_base: must be a whole number >= 1, got {self.rounding_base!r}")
        for name in ("suppress_zeros", "secondary"):
            if not isinstance(getattr(self, name), bool):
                out.append(f"disclosure.{name}: must be true or false, got {getattr(self, name)!r}")
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DisclosureSettings:
        """Build from a config mapping; unknown keys are a :class:`ConfigError`."""
        data = dict(data or {})
        known = {"threshold", "rounding_base", "suppress_zeros", "secondary"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError("DisclosureSettings", [f"disclosure.{k}: unknown field" for k in unknown])
        return cls(**data)


@dataclass
class ProtectedTable:
    """A count table after disclosure control.

    ``table`` holds the published values (rounded; suppressed cells are ``<NA>``) including a
    ``Total`` row and column when totals were asked for; ``suppressed`` is a boolean frame of the same
    shape; ``log`` lists what was changed (columns :data:`LOG_COLUMNS`).
    """

    name: str
    table: pd.DataFrame
    suppressed: pd.DataFrame
    log: pd.DataFrame

    def display(self, marker: str = "[c]") -> pd.DataFrame:
        """The table as strings, suppressed cells shown as ``marker`` (the ONS convention)."""
        shown = self.table.astype("object").where(~self.suppressed, marker)
        return shown.map(lambda v: marker if v is pd.NA else (f"{int(v):,}" if v != marker else v))


def round_to_base(values: np.ndarray | pd.Series | int, base: int) -> np.ndarray:
    """Round to the nearest multiple of ``base`` with halves rounded up (e.g. base 5: 12 -> 10, 13 -> 15)."""
    if base < 1:
        raise ValueError(f"base must be >= 1, got {base!r}")
    arr = np.asarray(values, dtype=float)
    return (np.floor(arr / base + 0.5) * base).astype(np.int64)


def _bounds(
    cells: np.ndarray,
    cell_hidden: np.ndarray,
    row_tot_hidden: np.ndarray,
    col_tot_hidden: np.ndarray,
    grand_hidden: bool,
) -> dict[tuple, tuple[float, float]]:
    """Min and max of every hidden cell and hidden total consistent with all published figures.

    Keys: ``("c", i, j)`` interior cell, ``("r", i)`` row total, ``("k", j)`` column total, ``("g",)``
    grand total; values ``(lower, upper)``.

    Unknowns: hidden interior cells, hidden row totals, hidden column totals, hidden grand total.
    Constraints: each row sums to its total, each column sums to its total, the row totals sum to the
    grand total, everything is non-negative.
    """
    n_rows, n_cols = cells.shape
    row_tot = cells.sum(axis=1)
    col_tot = cells.sum(axis=0)
    grand = cells.sum()
    index: dict[tuple, int] = {}
    for i, j in zip(*np.nonzero(cell_hidden), strict=True):
        index[("c", int(i), int(j))] = len(index)
    for i in np.nonzero(row_tot_hidden)[0]:
        index[("r", int(i))] = len(index)
    for j in np.nonzero(col_tot_hidden)[0]:
        index[("k", int(j))] = len(index)
    if grand_hidden:
        index[("g",)] = len(index)
    n_var = len(index)
    A: list[np.ndarray] = []
    b: list[float] = []

    def add(terms: list[tuple[tuple, float]], const: float) -> None:
        row = np.zeros(n_var)
        rhs = -const
        for key, coef in terms:
            if key in index:
                row[index[key]] += coef
        A.append(row)
        b.append(rhs)

    for i in range(n_rows):
        terms: list[tuple[tuple, float]] = [(("c", i, j), 1.0) for j in range(n_cols) if cell_hidden[i, j]]
        known = float(cells[i, ~cell_hidden[i]].sum())
        if row_tot_hidden[i]:
            terms.append((("r", i), -1.0))
            add(terms, known)
        else:
            add(terms, known - row_tot[i])
    for j in range(n_cols):
        terms = [(("c", i, j), 1.0) for i in range(n_rows) if cell_hidden[i, j]]
        known = float(cells[~cell_hidden[:, j], j].sum())
        if col_tot_hidden[j]:
            terms.append((("k", j), -1.0))
            add(terms, known)
        else:
            add(terms, known - col_tot[j])
    terms = [(("r", i), 1.0) for i in range(n_rows) if row_tot_hidden[i]]
    known = float(row_tot[~row_tot_hidden].sum())
    if grand_hidden:
        terms.append((("g",), -1.0))
        add(terms, known)
    else:
        add(terms, known - grand)

    A_eq = np.vstack(A) if A else None
    b_eq = np.asarray(b) if b else None
    out: dict[tuple, tuple[float, float]] = {}
    for key, k in index.items():
        c = np.zeros(n_var)
        c[k] = 1.0
        res_min = linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        res_max = linprog(-c, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        lo = res_min.fun if res_min.status == 0 else np.nan
        hi = -res_max.fun if res_max.status == 0 else np.inf
        out[key] = (float(lo), float(hi))
    return out


def audit_suppression(
    cells: pd.DataFrame | np.ndarray,
    hidden: pd.DataFrame | np.ndarray,
    *,
    row_totals_hidden: np.ndarray | None = None,
    col_totals_hidden: np.ndarray | None = None,
    grand_hidden: bool = False,
) -> pd.DataFrame:
    """Feasible range of every hidden cell and hidden total given what is published (an intruder's view).

    Returns one row per hidden interior cell, then one per hidden row total (``column`` is ``"Total"``),
    hidden column total (``row`` is ``"Total"``) and the grand total if hidden: ``row``, ``column``,
    ``lower``, ``upper``, ``exposed`` (``upper - lower < 1``: the value could be recovered exactly).
    """
    values = np.asarray(cells, dtype=float)
    mask = np.asarray(hidden, dtype=bool)
    rth = np.zeros(values.shape[0], bool) if row_totals_hidden is None else np.asarray(row_totals_hidden)
    cth = np.zeros(values.shape[1], bool) if col_totals_hidden is None else np.asarray(col_totals_hidden)
    bounds = _bounds(values, mask, rth, cth, grand_hidden)
    row_labels = list(cells.index) if isinstance(cells, pd.DataFrame) else list(range(values.shape[0]))
    col_labels = list(cells.columns) if isinstance(cells, pd.DataFrame) else list(range(values.shape[1]))
    records = []
    for key, (lo, hi) in bounds.items():
        if key[0] == "c":
            row, col = row_labels[key[1]], col_labels[key[2]]
        elif key[0] == "r":
            row, col = row_labels[key[1]], TOTAL
        elif key[0] == "k":
            row, col = TOTAL, col_labels[key[1]]
        else:
            row, col = TOTAL, TOTAL
        records.append({"row": row, "column": col, "lower": lo, "upper": hi, "_key": key})
    out = pd.DataFrame(records, columns=["row", "column", "lower", "upper", "_key"])
    out["exposed"] = (out["upper"] - out["lower"]) < 1 - 1e-9
    out.attrs["keys"] = out.pop("_key").tolist()
    return out


@dataclass(frozen=True)
class PublishedCells:
    """One published table (or one column of it) as cells of a common finer table, for cross-table audits.

    ``by``: the columns of the finest table whose combinations are this table's cells (``()`` for a single
    grand total); ``hidden``: a frame with the ``by`` columns and a boolean ``hidden`` column, one row per
    cell the table shows (cells it does not show at all are simply absent). A cell is the sum of the
    finest cells that share its ``by`` values.
    """

    name: str
    by: tuple[str, ...]
    hidden: pd.DataFrame


def audit_tables(
    finest: pd.DataFrame, tables: list[PublishedCells], *, count: str = "count", zeros_safe: bool = False
) -> pd.DataFrame:
    """Feasible range of every withheld cell of every table, given every published cell of all of them.

    The intruder's view of several tables cut from the same records (an outcome mix and outcomes by crime
    type; an LSOA table and area totals): the unknowns are the cells of ``finest`` (key columns and
    ``count``, the true counts of the finest cross-classification any of the tables uses), constrained to
    be non-negative and to add up to every published cell of every table (at its true value: published
    counts are rounded, so this is conservative). For each withheld cell of each table the smallest and
    largest consistent value are found by linear programming (scipy ``linprog``/HiGHS); ``exposed`` when
    the range is narrower than one. Only the combinations listed in ``finest`` are unknowns, so passing
    the observed combinations (a ``groupby``) grants the intruder knowledge of which are empty, again
    conservatively; pass every combination to withhold that.

    With ``zeros_safe`` a withheld cell that can only be zero is not counted as exposed (learning a zero
    is no more than publishing it, which the settings allow unless ``suppress_zeros``).

    Returns ``table``, ``cell`` (the ``by`` values joined with " / "), ``lower``, ``upper``, ``exposed``.
    """
    if count not in finest.columns:
        raise KeyError(f"finest lacks the count column {count!r} (columns: {list(finest.columns)})")
    base = finest.reset_index(drop=True)
    values = base[count].to_numpy(dtype=float)
    n_var = len(base)
    pub_blocks, target_blocks, labels = [], [], []
    for tab in tables:
        missing = [c for c in (*tab.by, "hidden") if c not in tab.hidden.columns]
        missing += [c for c in tab.by if c not in base.columns]
        if missing:
            raise KeyError(f"audit_tables: table {tab.name!r} lacks column(s) {missing}")
        cells = tab.hidden.reset_index(drop=True)
        if tab.by:
            key_cells = cells[list(tab.by)].astype("string").assign(_cell=np.arange(len(cells)))
            key_base = base[list(tab.by)].astype("string").assign(_var=np.arange(n_var))
            pairs = key_base.merge(key_cells, on=list(tab.by), how="inner")
            rows, cols = pairs["_cell"].to_numpy(), pairs["_var"].to_numpy()
            names = [" / ".join(str(v) for v in r) for r in cells[list(tab.by)].itertuples(index=False)]
        else:
            rows = np.repeat(np.arange(len(cells)), n_var)
            cols = np.tile(np.arange(n_var), len(cells))
            names = ["all"] * len(cells)
        member = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(cells), n_var))
        hid = cells["hidden"].astype(bool).to_numpy()
        pub_blocks.append(member[~hid])
        target_blocks.append(member[hid])
        labels += [(tab.name, names[i]) for i in np.flatnonzero(hid)]
    A_eq = sparse.vstack(pub_blocks).tocsr() if pub_blocks else None
    b_eq = A_eq @ values if A_eq is not None else None
    if A_eq is not None and A_eq.shape[0] == 0:
        A_eq, b_eq = None, None
    targets = sparse.vstack(target_blocks).tocsr() if target_blocks else sparse.csr_matrix((0, n_var))
    records = []
    for k, (name, label) in enumerate(labels):
        c = targets[k].toarray().ravel()
        if not c.any():  # no finest cell at all: structurally zero
            records.append({"table": name, "cell": label, "lower": 0.0, "upper": 0.0})
            continue
        lo = linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        records.append(
            {
                "table": name,
                "cell": label,
                "lower": float(lo.fun) if lo.status == 0 else np.nan,
                "upper": float(-hi.fun) if hi.status == 0 else np.inf,
            }
        )
    out = pd.DataFrame(records, columns=["table", "cell", "lower", "upper"])
    out["exposed"] = (out["upper"] - out["lower"]) < 1 - 1e-9
    if zeros_safe:
        out["exposed"] &= out["upper"] >= 0.5
    return out


def widen_across_tables(
    finest: pd.DataFrame,
    tables: list[PublishedCells],
    adjustable: str | tuple[str, ...],
    *,
    count: str = "count",
    zeros_safe: bool = False,
) -> tuple[list[PublishedCells], list[str]]:
    """Withhold further cells of the ``adjustable`` tables until :func:`audit_tables` finds none exposed.

    Each turn takes the first exposed cell whose table is adjustable (else the first adjustable table)
    and withholds that table's published cell with the smallest true count (zero cells last: a zero hides
    nothing), then audits again. Withholding only ever removes constraints, so each turn can only widen
    the intruder's ranges. Returns every table (same order, widened where changed) and the withheld cells
    as ``"table: cell"``, in order. Raises :class:`~linkage.errors.LinkageError` when a cell is still
    exposed and nothing adjustable is left to withhold (never publish an exposed cell).
    """
    names = (adjustable,) if isinstance(adjustable, str) else tuple(adjustable)
    by_name = {t.name: t for t in tables}
    for name in names:
        if name not in by_name:
            raise KeyError(f"adjustable must name tables among {sorted(by_name)}, got {name!r}")
        if not by_name[name].by:
            raise ValueError(f"widen_across_tables: table {name!r} has no keys to choose a cell by")
    current = {t.name: t.hidden.reset_index(drop=True).copy() for t in tables}

    def true_counts(name: str) -> pd.Series:
        keys = list(by_name[name].by)
        sums = (
            finest.assign(**{k: finest[k].astype("string") for k in keys})
            .groupby(keys, observed=True)[count]
            .sum()
            .reset_index()
        )
        merged = current[name][keys].astype("string").merge(sums, on=keys, how="left")
        return merged[count].fillna(0.0).astype(float)

    truth = {name: true_counts(name) for name in names}
    added: list[str] = []
    while True:
        tabs = [PublishedCells(t.name, t.by, current[t.name]) for t in tables]
        audit = audit_tables(finest, tabs, count=count, zeros_safe=zeros_safe)
        exposed = audit[audit["exposed"]]
        if exposed.empty:
            return tabs, added
        own = [t for t in exposed["table"] if t in names]
        order_names = list(dict.fromkeys([*own, *names]))
        target = next((n for n in order_names if not current[n]["hidden"].astype(bool).all()), None)
        if target is None:
            raise LinkageError(
                f"audit_tables: {len(exposed)} cell(s) still exposed and the adjustable tables {list(names)} "
                "have no published cell left to withhold"
            )
        cells, true = current[target], truth[target]
        open_ = ~cells["hidden"].astype(bool)
        order = true.where(true > 0, np.inf).where(open_, np.nan)
        pick = int(order.idxmin())
        cells.loc[pick, "hidden"] = True
        added.append(f"{target}: " + " / ".join(str(cells.loc[pick, c]) for c in by_name[target].by))


def _primary(values: np.ndarray, settings: DisclosureSettings) -> np.ndarray:
    small = values < settings.threshold
    if not settings.suppress_zeros:
        small &= values > 0
    return small


def _pick_complement(values: np.ndarray, hidden: np.ndarray, i: int | None, j: int | None) -> tuple | None:
    """Smallest published non-zero cell in row ``i`` (or column ``j``), preferring lines already hiding."""
    cand = []
    n_rows, n_cols = values.shape
    line = [(i, jj) for jj in range(n_cols)] if i is not None else [(ii, j) for ii in range(n_rows)]
    for a, b in line:
        if hidden[a, b] or values[a, b] <= 0:
            continue
        # Prefer a partner whose other line already has suppression (closes a cycle sooner).
        other_has = hidden[:, b].any() if i is not None else hidden[a, :].any()
        cand.append((0 if other_has else 1, values[a, b], a, b))
    if not cand:
        return None
    cand.sort()
    return cand[0][2], cand[0][3]


def _next_to_hide(
    values: np.ndarray,
    hidden: np.ndarray,
    rth: np.ndarray,
    cth: np.ndarray,
    grand_hidden: bool,
    key: tuple,
) -> tuple | None:
    """What to withhold next to protect the exposed ``key`` (same key scheme as :func:`_bounds`).

    An exposed cell gets a complementary cell in its row, else its column; failing that its row total,
    its column total, then the grand total. An exposed row (column) total gets the smallest other
    published row (column) total, else the grand total. Anything still exposed then gets the smallest
    published row total, else column total, else any published non-zero cell. ``None`` when nothing is
    left to withhold.
    """
    row_tot, col_tot = values.sum(axis=1), values.sum(axis=0)
    if key[0] == "c":
        _, r, c = key
        pick = _pick_complement(values, hidden, r, None) or _pick_complement(values, hidden, None, c)
        if pick is not None:
            return ("c", *pick)
        if not rth[r]:
            return ("r", r)
        if not cth[c]:
            return ("k", c)
    elif key[0] in ("r", "k"):
        flags, totals = (rth, row_tot) if key[0] == "r" else (cth, col_tot)
        free = [(totals[i], i) for i in range(len(flags)) if not flags[i] and i != key[1]]
        if free:
            return (key[0], min(free)[1])
    if not grand_hidden:
        return ("g",)
    # The grand total (or a line total) still follows from the other margins: withhold one of those.
    for kind, flags, totals in (("r", rth, row_tot), ("k", cth, col_tot)):
        free = [(totals[i], i) for i in range(len(flags)) if not flags[i]]
        if free:
            return (kind, min(free)[1])
    # Last resort: any published non-zero cell (its line has no other way to be protected).
    left = np.argwhere(~hidden & (values > 0))
    return ("c", int(left[0][0]), int(left[0][1])) if len(left) else None


def _line_rule(
    values: np.ndarray,
    hidden: np.ndarray,
    rth: np.ndarray,
    cth: np.ndarray,
    table: pd.DataFrame,
    name: str,
    log: list[dict[str, Any]],
) -> None:
    """Secondary pass 1 (in place): no row or column with a published total may hide exactly one cell."""
    n_rows, n_cols = values.shape
    lines = [(i, None, rth[i], f"row {table.index[i]!r}") for i in range(n_rows)]
    lines += [(None, j, cth[j], f"column {table.columns[j]!r}") for j in range(n_cols)]
    changed = True
    while changed:
        changed = False
        for i, j, total_hidden, label in lines:
            line = hidden[i] if j is None else hidden[:, j]
            if total_hidden or line.sum() != 1:
                continue
            pick = _pick_complement(values, hidden, i, j)
            if pick:
                hidden[pick] = True
                changed = True
                log.append(
                    _log(
                        name,
                        table.index[pick[0]],
                        table.columns[pick[1]],
                        "secondary suppression",
                        f"protects a suppressed cell in {label}",
                    )
                )


def _widen_until_safe(
    values: np.ndarray,
    hidden: np.ndarray,
    rth: np.ndarray,
    cth: np.ndarray,
    gh_box: list[bool],
    table: pd.DataFrame,
    name: str,
    log: list[dict[str, Any]],
    *,
    primary: np.ndarray | None = None,
    threshold: float = 0.0,
) -> None:
    """Hide further cells or totals (in place) until no hidden cell or hidden total is exactly recoverable,
    and no ``primary`` cell can be shown to lie below ``threshold`` (group disclosure: two small cells
    hiding only each other in a line whose total is published give away that both are small).

    Each turn hides one new item, so the loop ends within the number of items; anything still exposed
    after that is a :class:`LinkageError` rather than a silent leak.
    """
    n_rows, n_cols = values.shape
    for _ in range((n_rows + 1) * (n_cols + 1) + 1):
        audit = audit_suppression(
            values, hidden, row_totals_hidden=rth, col_totals_hidden=cth, grand_hidden=gh_box[0]
        )
        small = [
            primary is not None and k[0] == "c" and bool(primary[k[1], k[2]]) and hi < threshold
            for k, hi in zip(audit.attrs["keys"], audit["upper"], strict=True)
        ]
        exposed = [k for k, e, s in zip(audit.attrs["keys"], audit["exposed"], small, strict=True) if e or s]
        if not exposed:
            return
        item = _next_to_hide(values, hidden, rth, cth, gh_box[0], exposed[0])
        if item is None:
            break
        if item[0] == "c":
            hidden[item[1], item[2]] = True
            row, col = table.index[item[1]], table.columns[item[2]]
            reason = (
                "a suppressed value was recoverable, or shown to be below the threshold, from totals "
                "(linear-programming audit)"
            )
        elif item[0] == "r":
            rth[item[1]] = True
            row, col = table.index[item[1]], TOTAL
            reason = "suppressed value was recoverable from the other totals; row total withheld"
        elif item[0] == "k":
            cth[item[1]] = True
            row, col = TOTAL, table.columns[item[1]]
            reason = "suppressed value was recoverable from the other totals; column total withheld"
        else:
            gh_box[0] = True
            row, col = TOTAL, TOTAL
            reason = "suppressed value was recoverable from the other totals; grand total withheld"
        log.append(_log(name, row, col, "secondary suppression", reason))
    raise LinkageError(
        f"table {name!r}: secondary suppression could not protect every suppressed value "
        f"(still exactly recoverable after withholding everything available)"
    )


def protect_counts(
    table: pd.DataFrame,
    settings: DisclosureSettings | None = None,
    *,
    name: str = "table",
    totals: bool = True,
) -> ProtectedTable:
    """Apply primary suppression, secondary suppression and rounding to a table of counts.

    ``table`` holds non-negative whole-number counts (rows x columns, e.g. crime type x outcome).
    With ``totals`` a ``Total`` row and column are added (and protected like any cell).
    """
    settings = settings or DisclosureSettings()
    if not isinstance(table, pd.DataFrame):
        raise LinkageError(f"table must be a DataFrame, got {type(table).__name__}")
    try:
        values = table.fillna(0).to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise LinkageError(f"table {name!r}: counts must be numbers ({exc})") from exc
    if (values < 0).any() or not np.allclose(values, np.round(values)):
        raise LinkageError(f"table {name!r}: counts must be non-negative whole numbers")
    n_rows, n_cols = values.shape
    log: list[dict[str, Any]] = []
    hidden = _primary(values, settings)
    primary, threshold = hidden.copy(), float(settings.threshold)
    row_tot = values.sum(axis=1)
    col_tot = values.sum(axis=0)
    grand = values.sum()
    rth = _primary(row_tot, settings) if totals else np.ones(n_rows, bool)
    cth = _primary(col_tot, settings) if totals else np.ones(n_cols, bool)
    gh = bool(_primary(np.array([grand]), settings)[0]) if totals else True
    for i, j in zip(*np.nonzero(hidden), strict=True):
        log.append(
            _log(
                name,
                table.index[i],
                table.columns[j],
                "primary suppression",
                f"count below threshold {settings.threshold}",
            )
        )
    if totals:
        for i in np.nonzero(rth)[0]:
            log.append(
                _log(
                    name,
                    table.index[i],
                    TOTAL,
                    "primary suppression",
                    f"row total below threshold {settings.threshold}",
                )
            )
        for j in np.nonzero(cth)[0]:
            log.append(
                _log(
                    name,
                    TOTAL,
                    table.columns[j],
                    "primary suppression",
                    f"column total below threshold {settings.threshold}",
                )
            )

    if settings.secondary and totals and (hidden.any() or rth.any() or cth.any() or gh):
        _line_rule(values, hidden, rth, cth, table, name, log)
        # Pass 2: audit by linear programming; widen suppression until nothing is exactly recoverable.
        _widen_until_safe(
            values, hidden, rth, cth, gh_box := [gh], table, name, log, primary=primary, threshold=threshold
        )
        gh = gh_box[0]

    base = settings.rounding_base
    out = pd.DataFrame(round_to_base(values, base), index=table.index, columns=table.columns).astype("Int64")
    if totals:
        out[TOTAL] = pd.array(round_to_base(row_tot, base), dtype="Int64")
        total_row = list(round_to_base(col_tot, base)) + [int(round_to_base(grand, base))]
        out.loc[TOTAL] = pd.array(total_row, dtype="Int64")
        mask = np.zeros((n_rows + 1, n_cols + 1), bool)
        mask[:n_rows, :n_cols] = hidden
        mask[:n_rows, n_cols] = rth
        mask[n_rows, :n_cols] = cth
        mask[n_rows, n_cols] = gh
    else:
        mask = hidden.copy()
    suppressed = pd.DataFrame(mask, index=out.index, columns=out.columns)
    out = out.mask(suppressed)
    published_raw = np.concatenate([values[~hidden]]) if base > 1 else np.array([])
    n_changed = int((round_to_base(published_raw, base) != published_raw).sum()) if base > 1 else 0
    if base > 1:
        log.append(
            _log(
                name,
                "all",
                "all",
                "rounded",
                f"published counts rounded to the nearest {base}; {n_changed} cell(s) changed",
            )
        )
    logger.debug("%s: %d cell(s) suppressed", name, int(mask.sum()))
    return ProtectedTable(
        name=name, table=out, suppressed=suppressed, log=pd.DataFrame(log, columns=LOG_COLUMNS)
    )


def _log(table: str, row: object, column: object, action: str, reason: str) -> dict[str, Any]:
    return {"table": table, "row": str(row), "column": str(column), "action": action, "reason": reason}


RATE_DECIMALS = 3
"""Published proportions are rounded to this many decimals (a percentage to one decimal place)."""


def rounded_rate(
    count: np.ndarray | pd.Series,
    n: np.ndarray | pd.Series,
    settings: DisclosureSettings | None = None,
    *,
    alpha: float = 0.05,
    decimals: int = RATE_DECIMALS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate and Wilson interval computed from the *rounded* counts, each rounded to ``decimals``.

    A rate printed from unrounded counts undoes the rounding (``0.988062`` is only ``1407/1424``), so
    every published rate is ``round_to_base(count) / round_to_base(n)``: nothing a reader can get from it
    that the rounded counts beside it do not already give. ``n`` rounding to 0 gives NaN.
    """
    base = (settings or DisclosureSettings()).rounding_base
    rk = round_to_base(np.asarray(count, dtype=float), base).astype(float)
    rn = round_to_base(np.asarray(n, dtype=float), base).astype(float)
    rk = np.minimum(rk, rn)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(rn > 0, rk / np.where(rn > 0, rn, 1.0), np.nan)
    lo, hi = wilson_interval(rk, rn, alpha)
    return np.round(rate, decimals), np.round(lo, decimals), np.round(hi, decimals)


def small_count_mask(
    count: np.ndarray | pd.Series, n: np.ndarray | pd.Series, settings: DisclosureSettings
) -> np.ndarray:
    """True where ``count``, its complement ``n - count`` or ``n`` itself is under the threshold.

    Zeros (of the count or of the complement) are small only with ``suppress_zeros``.
    """
    k = np.asarray(count, dtype=float)
    total = np.asarray(n, dtype=float)
    rest = total - k
    t, z = settings.threshold, settings.suppress_zeros
    return ((k < t) & ((k > 0) | z)) | ((rest < t) & ((rest > 0) | z)) | (total < t)


def protect_rates(
    rates: pd.DataFrame,
    settings: DisclosureSettings | None = None,
    *,
    name: str = "rates",
    count: str = "count",
    n: str = "n",
    value_columns: tuple[str, ...] = ("rate", "lower", "upper"),
    extra_mask: np.ndarray | pd.Series | None = None,
    alpha: float = 0.05,
    ratios: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suppress rates whose numerator, complement or denominator is under the threshold; round the rest.

    The main rate is ``count / n`` in ``value_columns[0]``; ``lower``/``upper`` or
    ``{main}_low``/``{main}_high`` in ``value_columns`` are its Wilson interval. ``ratios`` names
    further rates in the same row as ``{column: (numerator, denominator)}`` (e.g. precision
    ``tp / n_links`` and recall ``tp / n_true``); their intervals are ``{column}_low``/``{column}_high``
    when present. A row whose main rate fails the check is withheld whole; a further rate failing its
    own check (numerator, ``denominator - numerator`` or denominator under the threshold) is withheld
    with its interval and numerator. ``extra_mask`` withholds rows suppressed in a matching count
    table. Published counts are rounded to the base, and every published rate and interval is
    recomputed from the rounded counts at :data:`RATE_DECIMALS`
    (:func:`rounded_rate`). Returns ``(published, log)``.
    """
    settings = settings or DisclosureSettings()
    ratios = dict(ratios or {})
    needed = [count, n, *[c for pair in ratios.values() for c in pair]]
    for col in needed:
        if col not in rates.columns:
            raise KeyError(f"{name}: column {col!r} not in rates (columns: {list(rates.columns)})")
    out = rates.copy()
    k = out[count].to_numpy(dtype=float)
    total = out[n].to_numpy(dtype=float)
    t = settings.threshold
    small_k = (k < t) & ((k > 0) | settings.suppress_zeros)
    small_rest = ((total - k) < t) & (((total - k) > 0) | settings.suppress_zeros)
    small_n = total < t
    secondary = np.zeros(len(out), bool) if extra_mask is None else np.asarray(extra_mask, dtype=bool)
    if secondary.shape != k.shape:
        raise ValueError(f"{name}: extra_mask has {secondary.shape[0]} rows, rates has {len(out)}")
    hide = small_k | small_rest | small_n | secondary
    keys = [
        c
        for c in out.columns
        if c not in (count, n, *value_columns, *needed, *ratios)
        and not any(c in (f"{r}_low", f"{r}_high") for r in ratios)
        and not pd.api.types.is_float_dtype(out[c])  # a label, never a value (the log shows no figures)
    ]

    def label(idx: int) -> str:
        return " / ".join(str(out.iloc[idx][c]) for c in keys) if keys else str(out.index[idx])

    log = []
    for idx in np.nonzero(hide)[0]:
        if small_n[idx] or small_k[idx] or small_rest[idx]:
            action = "primary suppression"
            reason = (
                f"denominator below threshold {t}"
                if small_n[idx]
                else f"numerator below threshold {t}"
                if small_k[idx]
                else f"complement (n - count) below threshold {t}"
            )
        else:
            action, reason = "secondary suppression", "withheld in a table that shares this cell"
        log.append(_log(name, label(idx), value_columns[0] if value_columns else "rate", action, reason))
    base = settings.rounding_base
    main = value_columns[0] if value_columns else None
    if main is not None and main in out.columns:
        rate, lo, hi = rounded_rate(k, total, settings, alpha=alpha)
        out[main] = pd.Series(rate, index=out.index).mask(hide)
        for cols, vals in (("lower", f"{main}_low"), lo), (("upper", f"{main}_high"), hi):
            for col in cols:
                if col in value_columns and col in out.columns:
                    out[col] = pd.Series(vals, index=out.index).mask(hide)
    numerators_hidden: dict[str, np.ndarray] = {count: hide.copy()}
    for col, (num, den) in ratios.items():
        kk = out[num].to_numpy(dtype=float)
        dd = out[den].to_numpy(dtype=float)
        own = small_count_mask(kk, dd, settings)
        for idx in np.nonzero(own & ~hide)[0]:
            log.append(
                _log(
                    name,
                    label(idx),
                    col,
                    "primary suppression",
                    f"{num}, {den} - {num} or {den} below threshold {t}",
                )
            )
        mask_r = own | hide
        rate, lo, hi = rounded_rate(kk, dd, settings, alpha=alpha)
        out[col] = pd.Series(rate, index=out.index).mask(mask_r)
        for suffix, vals in (("_low", lo), ("_high", hi)):
            if f"{col}{suffix}" in out.columns:
                out[f"{col}{suffix}"] = pd.Series(vals, index=out.index).mask(mask_r)
        numerators_hidden[num] = numerators_hidden.get(num, np.zeros(len(out), bool)) | mask_r
        numerators_hidden.setdefault(den, np.zeros(len(out), bool))
        numerators_hidden[den] = numerators_hidden[den] | (dd < t)
    for col in value_columns[1:]:
        interval = ("lower", "upper", f"{main}_low", f"{main}_high")
        if col in out.columns and col not in interval and col not in ratios:
            out[col] = out[col].astype(float).round(RATE_DECIMALS).mask(hide)
    out[n] = pd.array(round_to_base(total, base), dtype="Int64")
    out[n] = out[n].mask(small_n)
    for col, masked in numerators_hidden.items():
        if col == n:
            continue
        out[col] = pd.array(round_to_base(out[col].to_numpy(dtype=float), base), dtype="Int64")
        out[col] = out[col].mask(masked)
    if len(out):
        log.append(
            _log(
                name,
                "all",
                ", ".join(dict.fromkeys([count, n, *needed])),
                "rounded",
                f"counts rounded to the nearest {base}; rates recomputed from the rounded counts and "
                f"shown to {RATE_DECIMALS - 2} decimal place(s) of a percentage",
            )
        )
    return out, pd.DataFrame(log, columns=LOG_COLUMNS)
