"""Incremental fast interchange for the p-median (Resende & Werneck 2004/2007) and the moves built on it.

The search works on a matrix ``T`` held twice: as candidate rows (CSR) and as per-demand lists sorted by cost.
Per demand point it keeps the nearest and second-nearest open site (d1, f1, d2, f2; the virtual site -1 costs the
penalty), and over all points three sums:

- ``gain[k]``: what opening k alone saves, Σ_i w_i max(0, d1_i − c_ki);
- ``loss[s]``: what closing the new site in slot s alone costs, Σ_{i: f1_i = sel[s]} w_i (d2_i − d1_i);
- ``extra[k, s]``: the correction when both happen, Σ_{i: f1_i = sel[s], c_ki < d2_i} w_i (d2_i − max(c_ki, d1_i)),

so the profit of swapping k in for slot s is gain[k] − loss[s] + extra[k, s].  A demand point's share of the
sums depends on its own (d1, f1, d2) only, so a swap subtracts the shares of the points it affects (those whose
nearest or second-nearest site closes, and those the new site is closer to than their second-nearest), updates
them and adds their shares back: no pass over the whole matrix.  As extra[k, s] ≤ loss[s], a swap's profit is at
most gain[k], which prunes the scan for the best swap.

Every applied swap is appended to a history, so a rejected perturbation is undone by swapping back in reverse.
"""

from __future__ import annotations

import numba
import numpy as np

_NB = dict(cache=True, nogil=True)
_RELINK_WORK = 50_000_000

__all__: list[str] = []


@numba.njit(**_NB)
def _lists(ptr, idx, val, n_dem):
    """Per-demand lists (lp, lj, lc) of the candidate-row CSR, each sorted by cost (ties: lower candidate first)."""
    n_cand = len(ptr) - 1
    lp = np.zeros(n_dem + 1, dtype=np.int64)
    for e in range(len(idx)):
        lp[idx[e] + 1] += 1
    for i in range(n_dem):
        lp[i + 1] += lp[i]
    pos = lp[:-1].copy()
    lj = np.empty(len(idx), dtype=np.int32)
    lc = np.empty(len(idx))
    for j in range(n_cand):  # candidates ascending: a stable sort then breaks cost ties by candidate
        for e in range(ptr[j], ptr[j + 1]):
            i = idx[e]
            lj[pos[i]] = j
            lc[pos[i]] = val[e]
            pos[i] += 1
    for i in range(n_dem):
        a, b = lp[i], lp[i + 1]
        o = np.argsort(lc[a:b], kind="mergesort")
        lj[a:b] = lj[a:b][o]
        lc[a:b] = lc[a:b][o]
    return lp, lj, lc


@numba.njit(**_NB)
def _near2(lp, lj, lc, is_open, pen, i, d1, f1, d2, f2):
    """Nearest and second-nearest open site of demand ``i`` from its sorted list (the virtual site past the penalty)."""
    a1, g1, a2, g2 = pen, -1, pen, -1
    for e in range(lp[i], lp[i + 1]):
        c = lc[e]
        if c >= pen:
            break
        j = lj[e]
        if is_open[j]:
            if g1 < 0:
                a1, g1 = c, j
            else:
                a2, g2 = c, j
                break
    d1[i], f1[i], d2[i], f2[i] = a1, g1, a2, g2


@numba.njit(**_NB)
def _share(lp, lj, lc, w, slot, i, d1, f1, d2, gain, loss, extra, sign):
    """Add (sign 1) or remove (sign -1) demand ``i``'s share of gain, loss and extra."""
    wi = w[i]
    if wi == 0.0:
        return
    r = f1[i]
    s = slot[r] if r >= 0 else -1
    a1, a2 = d1[i], d2[i]
    if s >= 0:
        loss[s] += sign * wi * (a2 - a1)
    for e in range(lp[i], lp[i + 1]):
        c = lc[e]
        if c >= a2:
            break
        k = lj[e]
        if c < a1:
            gain[k] += sign * wi * (a1 - c)
        if s >= 0:
            extra[k, s] += sign * wi * (a2 - max(c, a1))


@numba.njit(**_NB)
def init_state(lp, lj, lc, w, is_open, slot, pen, d1, f1, d2, f2, gain, loss, extra):
    """Nearest two sites of every demand point and the sums, from scratch."""
    gain[:] = 0.0
    loss[:] = 0.0
    extra[:, :] = 0.0
    for i in range(len(lp) - 1):
        _near2(lp, lj, lc, is_open, pen, i, d1, f1, d2, f2)
        _share(lp, lj, lc, w, slot, i, d1, f1, d2, gain, loss, extra, 1.0)


@numba.njit(**_NB)
def best_swap(rp, ri, rc, f1, d2, slot, gain, loss, extra, is_open, movable):
    """(profit, k, s) of the best swap: insert closed movable candidate k, close the new site in slot s.

    Profit(k, s) ≤ gain[k], so candidates whose gain cannot beat the best found are skipped.  extra[k, s] is
    zero but for the slots serving a demand point of k's row with c_ki < d2_i, so a row shorter than p is
    scanned instead of all slots (the others are covered by the slot of least loss).  Ties go to the lower k,
    then the lower s.  k = -1 when no candidate can be inserted."""
    n_slots = len(loss)
    if n_slots == 0:
        return -np.inf, -1, -1
    s_min = 0
    for s in range(1, n_slots):
        if loss[s] < loss[s_min]:
            s_min = s
    bp, bk, bs = -np.inf, -1, -1
    for k in range(len(gain)):  # a lower bound to prune with: the best insert against the cheapest removal
        if movable[k] and not is_open[k] and gain[k] - loss[s_min] > bp:
            bp, bk, bs = gain[k] - loss[s_min], k, s_min
    for k in range(len(gain)):
        if not movable[k] or is_open[k] or gain[k] < bp:
            continue
        g = gain[k]
        if rp[k + 1] - rp[k] < n_slots:
            for e in range(rp[k], rp[k + 1]):
                i = ri[e]
                if rc[e] < d2[i] and f1[i] >= 0 and slot[f1[i]] >= 0:
                    s = slot[f1[i]]
                    v = g - loss[s] + extra[k, s]
                    if v > bp or (v == bp and (k < bk or (k == bk and s < bs))):
                        bp, bk, bs = v, k, s
        else:
            for s in range(n_slots):
                v = g - loss[s] + extra[k, s]
                if v > bp or (v == bp and (k < bk or (k == bk and s < bs))):
                    bp, bk, bs = v, k, s
    return bp, bk, bs


@numba.njit(**_NB)
def apply_swap(rp, ri, rc, lp, lj, lc, w, is_open, slot, sel, pen, d1, f1, d2, f2, gain, loss, extra, k, s,
               mark, work):
    """Open k in slot s (closing sel[s]), updating only the demand points the swap affects."""
    r = sel[s]
    m = 0
    for e in range(rp[r], rp[r + 1]):
        i = ri[e]
        if (f1[i] == r or f2[i] == r) and not mark[i]:
            mark[i] = True
            work[m] = i
            m += 1
    for e in range(rp[k], rp[k + 1]):
        i = ri[e]
        if rc[e] < d2[i] and not mark[i]:
            mark[i] = True
            work[m] = i
            m += 1
    for q in range(m):
        _share(lp, lj, lc, w, slot, work[q], d1, f1, d2, gain, loss, extra, -1.0)
    is_open[r] = False
    slot[r] = -1
    is_open[k] = True
    slot[k] = s
    sel[s] = k
    for q in range(m):
        i = work[q]
        mark[i] = False
        _near2(lp, lj, lc, is_open, pen, i, d1, f1, d2, f2)
        _share(lp, lj, lc, w, slot, i, d1, f1, d2, gain, loss, extra, 1.0)


@numba.njit(**_NB)
def local_search(rp, ri, rc, lp, lj, lc, w, is_open, movable, slot, sel, pen, d1, f1, d2, f2, gain, loss, extra,
                 mark, work, tol, max_moves, hist, h0):
    """Best-improvement swaps until none gains more than ``tol`` or ``max_moves`` were made.

    Each swap is logged in hist[h] = (k, removed, s) from h0 on.  Returns (moves, converged)."""
    for q in range(max_moves):
        v, k, s = best_swap(rp, ri, rc, f1, d2, slot, gain, loss, extra, is_open, movable)
        if k < 0 or not v > tol:
            return q, True
        if h0 + q >= len(hist):
            return q, False
        hist[h0 + q, 0], hist[h0 + q, 1], hist[h0 + q, 2] = k, sel[s], s
        apply_swap(rp, ri, rc, lp, lj, lc, w, is_open, slot, sel, pen, d1, f1, d2, f2, gain, loss, extra, k, s,
                   mark, work)
    return max_moves, False


@numba.njit(**_NB)
def kick(rp, ri, rc, lp, lj, lc, w, is_open, movable, slot, sel, pen, d1, f1, d2, f2, gain, loss, extra,
         mark, work, near, far, u, hist, h0):
    """Move 1-3 new sites each to a cheap closed candidate of a random demand point it serves (or, with
    probability ``far``, to any closed candidate).

    ``u`` holds uniform random numbers (4 per move and one for the count), drawn by the caller so that
    the seed alone fixes the result.  Returns the moves made (logged in hist from h0)."""
    n_slots = len(sel)
    n_dem = len(lp) - 1
    n_mv = min(n_slots, 1 + int(u[0] * min(3, n_slots)) + (len(u) - 13) // 4)
    done = 0
    for t in range(n_mv):
        if h0 + done >= len(hist):
            break
        s = min(int(u[1 + 4 * t] * n_slots), n_slots - 1)
        r = sel[s]
        cnt = 0
        for e in range(rp[r], rp[r + 1]):
            if f1[ri[e]] == r:
                cnt += 1
        if cnt > 0:
            want = min(int(u[2 + 4 * t] * cnt), cnt - 1)
            i = -1
            for e in range(rp[r], rp[r + 1]):
                if f1[ri[e]] == r:
                    if want == 0:
                        i = ri[e]
                        break
                    want -= 1
        else:
            i = min(int(u[2 + 4 * t] * n_dem), n_dem - 1)
        avail = 0
        for e in range(lp[i], lp[i + 1] if u[4 + 4 * t] >= far else lp[i]):  # sometimes anywhere (avail 0)
            if movable[lj[e]] and not is_open[lj[e]]:
                avail += 1
                if avail >= near:
                    break
        k = -1
        if avail > 0:
            want = min(int(u[3 + 4 * t] * avail), avail - 1)
            for e in range(lp[i], lp[i + 1]):
                if movable[lj[e]] and not is_open[lj[e]]:
                    if want == 0:
                        k = lj[e]
                        break
                    want -= 1
        else:  # a far move, or nothing closed on that list: any closed movable candidate
            n_cl = 0
            for j in range(len(is_open)):
                if movable[j] and not is_open[j]:
                    n_cl += 1
            if n_cl == 0:
                break
            want = min(int(u[3 + 4 * t] * n_cl), n_cl - 1)
            for j in range(len(is_open)):
                if movable[j] and not is_open[j]:
                    if want == 0:
                        k = j
                        break
                    want -= 1
        hist[h0 + done, 0], hist[h0 + done, 1], hist[h0 + done, 2] = k, r, s
        apply_swap(rp, ri, rc, lp, lj, lc, w, is_open, slot, sel, pen, d1, f1, d2, f2, gain, loss, extra, k, s,
                   mark, work)
        done += 1
    return done


@numba.njit(**_NB)
def undo(rp, ri, rc, lp, lj, lc, w, is_open, slot, sel, pen, d1, f1, d2, f2, gain, loss, extra, mark, work,
         hist, h0, h1):
    """Swap back the moves hist[h0:h1], last first."""
    for h in range(h1 - 1, h0 - 1, -1):
        apply_swap(rp, ri, rc, lp, lj, lc, w, is_open, slot, sel, pen, d1, f1, d2, f2, gain, loss, extra,
                   hist[h, 1], hist[h, 2], mark, work)


@numba.njit(**_NB)
def relink(rp, ri, rc, lp, lj, lc, w, is_open, slot, sel, pen, d1, f1, d2, f2, gain, loss, extra, mark, work,
           target, hist, h0):
    """Path relinking toward the sites marked in ``target``: at each step the best swap that inserts a target
    site and closes a non-target new site.  Returns (objective, history end) of the best point strictly between
    the two ends (inf, h0 when the path has none) and the history end of the walk."""
    obj = 0.0
    for i in range(len(w)):
        obj += w[i] * d1[i]
    n_slots = len(sel)
    best, best_h, h = np.inf, h0, h0
    while h < len(hist):
        bp, bk, bs = -np.inf, -1, -1
        for k in range(len(gain)):
            if not target[k] or is_open[k]:
                continue
            for s in range(n_slots):
                if target[sel[s]]:
                    continue
                v = gain[k] - loss[s] + extra[k, s]
                if v > bp:
                    bp, bk, bs = v, k, s
        if bk < 0:
            break
        hist[h, 0], hist[h, 1], hist[h, 2] = bk, sel[bs], bs
        apply_swap(rp, ri, rc, lp, lj, lc, w, is_open, slot, sel, pen, d1, f1, d2, f2, gain, loss, extra, bk, bs,
                   mark, work)
        h += 1
        obj -= bp
        more = False  # the walk's last point is the target itself: not a new solution
        for s in range(n_slots):
            if not target[sel[s]]:
                more = True
                break
        if more and obj < best:
            best, best_h = obj, h
    return best, best_h, h


class Engine:
    """The search state over a matrix (candidate rows ``rows`` = (ptr, idx, val)); one per solve."""

    def __init__(self, rows, w: np.ndarray, fx: np.ndarray, p: int, pen: float):
        self.rows = rows
        n_cand = len(rows[0]) - 1
        n_dem = len(w)
        self.lists = _lists(rows[0], rows[1], rows[2], n_dem)
        self.w, self.pen, self.p = w, float(pen), p
        self.fx = fx
        self.movable = ~fx
        self.is_open = np.zeros(n_cand, dtype=np.bool_)
        self.slot = np.full(n_cand, -1, dtype=np.int64)
        self.sel = np.zeros(p, dtype=np.int64)
        self.d1, self.d2 = np.empty(n_dem), np.empty(n_dem)
        self.f1, self.f2 = np.empty(n_dem, dtype=np.int64), np.empty(n_dem, dtype=np.int64)
        self.gain, self.loss = np.zeros(n_cand), np.zeros(p)
        self.extra = np.zeros((n_cand, p))
        self.mark = np.zeros(n_dem, dtype=np.bool_)
        self.work = np.empty(n_dem, dtype=np.int64)
        self.hist = np.zeros((4096, 3), dtype=np.int64)
        self.h = 0  # moves logged since the last commit
        self.near = 2 * -(-n_cand // max(p, 1)) + 3
        self.far = 0.1

    def reset(self, sel) -> None:
        """Start from the sites ``sel`` (the sums rebuilt from scratch, which also clears rounding drift)."""
        self.sel[:] = np.asarray(sel, dtype=np.int64)
        self.is_open[:] = self.fx
        self.is_open[self.sel] = True
        self.slot[:] = -1
        self.slot[self.sel] = np.arange(self.p)
        init_state(*self.lists, self.w, self.is_open, self.slot, self.pen, self.d1, self.f1, self.d2, self.f2,
                   self.gain, self.loss, self.extra)
        self.h = 0

    def objective(self) -> float:
        """Σ w d1 on the search matrix."""
        return float(self.w @ self.d1)

    def _st(self):
        return (*self.rows, *self.lists, self.w, self.is_open)

    def descend(self, max_moves: int = 64) -> tuple[int, bool]:
        """Up to ``max_moves`` best-improvement swaps (logged); (moves, reached a local optimum)."""
        self._room(max_moves)
        tol = 1e-9 * max(1.0, abs(self.objective()))
        n, conv = local_search(*self._st(), self.movable, self.slot, self.sel, self.pen, self.d1, self.f1, self.d2,
                               self.f2, self.gain, self.loss, self.extra, self.mark, self.work, tol, max_moves,
                               self.hist, self.h)
        self.h += n
        return int(n), bool(conv)

    def kick(self, u: np.ndarray) -> int:
        self._room(len(u) // 4 + 1)
        n = kick(*self._st(), self.movable, self.slot, self.sel, self.pen, self.d1, self.f1, self.d2, self.f2,
                 self.gain, self.loss, self.extra, self.mark, self.work, self.near, self.far, u, self.hist, self.h)
        self.h += n
        return int(n)

    def rollback(self) -> None:
        """Undo every move since the last commit."""
        undo(*self.rows, *self.lists, self.w, self.is_open, self.slot, self.sel, self.pen, self.d1, self.f1,
             self.d2, self.f2, self.gain, self.loss, self.extra, self.mark, self.work, self.hist, 0, self.h)
        self.h = 0

    def rollback_to(self, h0: int) -> None:
        """Undo the moves logged after the first ``h0``."""
        undo(*self.rows, *self.lists, self.w, self.is_open, self.slot, self.sel, self.pen, self.d1, self.f1,
             self.d2, self.f2, self.gain, self.loss, self.extra, self.mark, self.work, self.hist, h0, self.h)
        self.h = h0

    def relink(self, target, deadline=None, past=None) -> tuple[float, int]:
        """Walk toward the sites ``target``, keep the walk's best inner point and descend from it (all logged,
        so :meth:`rollback` still returns to the start); (objective, swaps)."""
        mask = np.zeros(len(self.is_open), dtype=np.bool_)
        mask[np.asarray(target, dtype=np.int64)] = True
        d = int((~mask[self.sel]).sum())
        if d * d * self.p > _RELINK_WORK:  # each of the d steps scans d × p swaps: skip walks that long
            return np.inf, 0
        self._room(self.p + 1)
        h0 = self.h
        best, best_h, h1 = relink(*self._st(), self.slot, self.sel, self.pen, self.d1, self.f1, self.d2, self.f2,
                                  self.gain, self.loss, self.extra, self.mark, self.work, mask, self.hist, h0)
        self.h = int(h1)
        if not np.isfinite(best):
            self.rollback_to(h0)
            return np.inf, 0
        self.rollback_to(int(best_h))
        n = self.settle(deadline, past)
        return self.objective(), int(h1 - h0) + n

    def commit(self) -> None:
        self.h = 0

    def _room(self, n: int) -> None:
        if self.h + n > len(self.hist):
            self.hist = np.concatenate([self.hist, np.zeros((max(n, len(self.hist)), 3), dtype=np.int64)])

    def settle(self, deadline=None, past=None) -> int:
        """Descend to a local optimum (or the deadline); returns the swaps made."""
        n = 0
        while True:
            k, conv = self.descend()
            n += k
            if conv or (past is not None and past(deadline)):
                return n

    def step(self, rng, limit: float, deadline=None, past=None, more: int = 0) -> tuple[float, int]:
        """Kick, descend, keep the result when no worse than ``limit`` else undo; (objective now, swaps)."""
        self.kick(rng.random(13 + 4 * more))
        n = self.settle(deadline, past)
        o = self.objective()
        if o <= limit + 1e-12 * max(1.0, abs(limit)):
            self.commit()
            return o, n
        self.rollback()
        return self.objective(), n


class Elite:
    """Up to ``size`` distinct local optima, the worst replaced by a better newcomer."""

    def __init__(self, size: int = 10):
        self.size = size
        self.items: list[tuple[float, tuple[int, ...]]] = []

    def add(self, sel, obj: float) -> None:
        key = tuple(sorted(int(j) for j in sel))
        if not np.isfinite(obj) or any(k == key for _, k in self.items):
            return
        if len(self.items) < self.size:
            self.items.append((obj, key))
        else:
            worst = max(range(len(self.items)), key=lambda q: (self.items[q][0], q))
            if obj < self.items[worst][0]:
                self.items[worst] = (obj, key)

    def pick(self, rng, sel):
        """A random member other than ``sel`` (None if there is none)."""
        key = tuple(sorted(int(j) for j in sel))
        others = [k for _, k in sorted(self.items) if k != key]
        return list(others[int(rng.integers(len(others)))]) if others else None
