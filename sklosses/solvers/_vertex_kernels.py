"""The vertex walk's pivots, compiled: pricing, the long-step line search, the basis update.

:class:`~sklosses.solvers._vertex_path.VertexPath` walks from vertex to
vertex of an L1 quantile program; each pivot is a few dozen small array
operations on the basis (``k x k``, ``k`` at most the number of columns) and
the walk's near rows (a few hundred). As NumPy calls they cost about 100 us
per pivot whatever the sizes (a 50-alpha path of bench_cv_path's robust
fold takes 736 pivots); compiled, a pivot costs what its arithmetic does.
:func:`walk_near_rows` runs pivots until the walk needs Python again: the
optimum, a fresh basis factorisation (LAPACK, by the caller: every 32
updates of the inverse, or at a small pivot), near rows chosen again, or a
failure. The long step orders its breakpoints by a heap (it usually ends
among the first few of hundreds). The walk's logic and its references are in
:mod:`sklosses.solvers._vertex_path`; this module is its arithmetic.

The functions are compiled at their first call (importing this module
imports Numba); without Numba they run as Python, slowly but the same.
Division by zero follows NumPy (``inf``, NaN), not Python's exception: a
row whose argument does not move along an edge has ``u / du`` infinite.
"""

import numpy as np

from .._compiling import compiled

# What walk_near_rows stopped for.
OPTIMAL = 0  # no test fails: the vertex is optimal (on the near rows' sides)
REFACTOR = 1  # the basis changed unupdated: the caller factorises it, calls again
NO_STOP_NEAR = 2  # no near row's breakpoint ends the edge, and there are far rows
FAR_ROW_PASSED = 3  # the step would move a far row across the kink
UNBOUNDED = 4  # no breakpoint at all ends the edge
PIVOT_LIMIT = 5
BROKEN_BASIS = 6  # an elbow row outside the near rows, a leaving weight not free


def _jit(function):
    return compiled(function, error_model="numpy") or function


def _sift_down_impl(heap, t, position, size):
    """Restore the min-heap order of ``heap[:size]`` (indices into ``t``) below ``position``."""
    item = heap[position]
    while True:
        child = 2 * position + 1
        if child >= size:
            break
        if child + 1 < size and t[heap[child + 1]] < t[heap[child]]:
            child += 1
        if t[heap[child]] >= t[item]:
            break
        heap[position] = heap[child]
        position = child
    heap[position] = item


_sift_down = _jit(_sift_down_impl)


def _first_stop_impl(t, gain, target):
    """``(stop, order)``: the breakpoints ``t`` in ascending ``order`` up to the first
    position ``stop`` where the cumulated ``gain`` reaches ``target``
    (``order[stop]`` the stop, ``order[:stop]`` the breakpoints passed), or
    ``stop = order.size`` when it never does.

    A heap: the long step usually ends among the first few of hundreds of
    breakpoints, which are then all that is sorted.
    """
    size = t.size
    heap = np.arange(size)
    for position in range(size // 2 - 1, -1, -1):
        _sift_down(heap, t, position, size)
    order = np.empty(size, dtype=np.int64)
    total = 0.0
    for position in range(size):
        smallest = heap[0]
        order[position] = smallest
        total += gain[smallest]
        if total >= target:
            return position, order[: position + 1]
        heap[0] = heap[size - position - 1]
        _sift_down(heap, t, 0, size - position - 1)
    return size, order


_first_stop = _jit(_first_stop_impl)


def _line_search_impl(u, du, gains, beta, d, lam, derivative, n_features):
    """The step along ``d`` to the minimum of the objective, and what enters the basis.

    ``u``, ``du`` and ``gains`` are the rows' arguments, their rates along
    ``d`` and ``w (high - low)``; ``derivative`` (< 0) is the slope at
    ``t = 0+``. A row whose argument moves towards the kink is a breakpoint
    at ``t = -u / du > 0`` (an elbow row, at ``u = 0``, is none) where the
    slope grows by ``gains |du|``; a weight moving towards zero one at
    ``-beta / d`` where it grows by ``2 lam |d|`` (a weight at zero, leaving
    it or not moving, is none). The step ends at the first breakpoint where
    the slope is no longer negative. (A row off the elbow exactly at the
    kink, a tie, is not a breakpoint at ``t = 0`` here; the walk's
    perturbation of the arguments makes that a null event.)

    Returns ``(found, t, entering_row, entering, passed)``: whether a
    breakpoint ends the edge, the step, whether a row (its position in
    ``u``) or a weight (its column) enters the basis, and the positions of
    the rows passed (they change sides). A weight passed through zero
    changes its sign, which the walk's next pricing reads from ``beta``.
    """
    n = u.size
    toward = np.empty(n, dtype=np.int64)
    t_rows = np.empty(n)
    gain_rows = np.empty(n)
    count = 0
    for i in range(n):
        ratio = u[i] / du[i]
        # Rows moving away from the kink (or on it) never stop the step.
        if ratio < 0:
            toward[count] = i
            t_rows[count] = -ratio
            gain_rows[count] = gains[i] * abs(du[i])
            count += 1
    t_rows, gain_rows = t_rows[:count], gain_rows[:count]
    target = -derivative
    empty = np.empty(0, dtype=np.int64)
    # The rows alone first: a weight reaching zero before their stop is rare,
    # and only then are the two merged.
    stop, order = _first_stop(t_rows, gain_rows, target)
    if stop >= order.size:
        return False, 0.0, True, -1, empty  # the objective falls without end
    t = t_rows[order[stop]]
    n_crossed = 0
    for j in range(n_features):
        if (beta[j] + t * d[j]) * beta[j] < 0:  # the weight passed zero
            n_crossed += 1
    t_all, columns = t_rows, empty
    if n_crossed > 0:
        # The weights that reach zero first join the breakpoints.
        columns = np.empty(n_crossed, dtype=np.int64)
        t_all = np.empty(count + n_crossed)
        gain_all = np.empty(count + n_crossed)
        t_all[:count] = t_rows
        gain_all[:count] = gain_rows
        position = 0
        for j in range(n_features):
            if (beta[j] + t * d[j]) * beta[j] < 0:
                columns[position] = j
                t_all[count + position] = -beta[j] / d[j]
                gain_all[count + position] = 2.0 * lam[j] * abs(d[j])
                position += 1
        stop, order = _first_stop(t_all, gain_all, target)
        if stop >= order.size:  # not before the rows' own stop, but for rounding
            return False, 0.0, True, -1, empty
    passed = np.empty(stop, dtype=np.int64)
    n_passed = 0
    for position in range(stop):
        if order[position] < count:  # a row (a weight passed through zero is no row)
            passed[n_passed] = toward[order[position]]
            n_passed += 1
    k = order[stop]
    if k < count:
        return True, t_all[k], True, toward[k], passed[:n_passed]
    return True, t_all[k], False, columns[k - count], passed[:n_passed]


line_search = _jit(_line_search_impl)


def _far_bounds_impl(u_far, norms_far, ratio_far):
    """Each far row's distance to the kink in the coefficients, and the bound on a step.

    A far row keeps its side while the step from the base is shorter than
    its ``|u_i| / |z_i|`` (Cauchy and Schwarz): writes those ratios into
    ``ratio_far`` and returns the smallest, squared, with a margin for
    rounding (a row with ``z_i = 0`` never moves: its ratio is infinite or
    NaN, and never compared true).
    """
    bound = np.inf
    for i in range(u_far.size):
        ratio = abs(u_far[i]) / norms_far[i]
        ratio_far[i] = ratio
        if ratio < bound:
            bound = ratio
    return ((1 - 1e-9) * bound) ** 2


far_bounds = _jit(_far_bounds_impl)

# A check of the far rows that had to compute more than this share of their
# arguments moves their base to the step's end (one product over all of
# them), so that the next checks start from distances measured there.
_REBASE_SHARE = 16


def _far_rows_keep_sides(Z, far, norms_far, u_far, ratio_far, far_base, rho_squared,
                         beta_to):
    """Whether the step to ``beta_to`` keeps every far row on its side.

    By the smallest bound when ``beta_to`` is within it (the bound is on a
    ball, which holds the whole segment from a point inside it); else each
    row whose own bound is shorter than the step has its argument at
    ``beta_to`` computed (linear along the segment, a row crosses the kink
    exactly when its sign changes). Where many had to be, every far row's
    argument is computed at ``beta_to``, which becomes the new base
    (``u_far``, ``ratio_far``, ``far_base`` and ``rho_squared[0]`` updated
    in place).
    """
    m = beta_to.size
    step = beta_to - far_base
    squared = step @ step
    if squared < rho_squared[0]:
        return True
    length = np.sqrt(squared)
    at_risk = 0
    for i in range(far.size):
        if (1 - 1e-9) * ratio_far[i] <= length:
            row = far[i]
            total = u_far[i]
            for c in range(m):
                total += Z[row, c] * step[c]
            if (total > 0) != (u_far[i] > 0):
                return False
            at_risk += 1
    if at_risk * _REBASE_SHARE > far.size:
        for i in range(far.size):
            row = far[i]
            total = u_far[i]
            for c in range(m):
                total += Z[row, c] * step[c]
            u_far[i] = total
        far_base[:] = beta_to
        rho_squared[0] = far_bounds(u_far, norms_far, ratio_far)
    return True


_far_keep = _jit(_far_rows_keep_sides)


def _sign_impl(x):
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


_sign = _jit(_sign_impl)


# Updates of the basis inverse ``A = B^-1``, ``B = Z[elbow][:, free]`` (A's
# rows are the free columns, its columns the elbow rows), k x k in the top
# left of ``inverse``; each returns False, leaving ``inverse`` as it was,
# when its pivot is small beside the terms it is made of (the caller then
# factorises the new basis afresh).


def _times_inverse_impl(vector, inverse, k, out):
    """``out[:k] = vector[:k] @ inverse[:k, :k]``; returns the largest ``|out[j]|``."""
    largest = 0.0
    for j in range(k):
        total = 0.0
        for i in range(k):
            total += vector[i] * inverse[i, j]
        out[j] = total
        largest = max(largest, abs(total))
    return largest


_times_inverse = _jit(_times_inverse_impl)


def _replace_row_impl(inverse, k, position, new_row, pivot_floor):
    """Elbow row ``position`` of ``B`` replaced by ``new_row`` (its free columns):
    Sherman and Morrison."""
    q = np.empty(k)
    largest = _times_inverse(new_row, inverse, k, q)
    pivot = q[position]
    if not abs(pivot) > pivot_floor * largest:
        return False
    q[position] -= 1.0
    for i in range(k):
        factor = inverse[i, position] / pivot
        for j in range(k):
            inverse[i, j] -= factor * q[j]
    return True


_replace_row = _jit(_replace_row_impl)


def _add_row_and_column_impl(inverse, k, move, new_row, corner, pivot_floor):
    """``B`` bordered by a new last column ``b`` (``move = A b``) and a new last row
    (``new_row`` on the old free columns, ``corner`` on the new one): the
    block inverse, through the Schur complement ``corner - new_row . move``."""
    schur, scale = corner, abs(corner)
    for i in range(k):
        schur -= new_row[i] * move[i]
        scale += abs(new_row[i] * move[i])
    if not abs(schur) > pivot_floor * scale:
        return False
    w_row = np.empty(k)  # new_row^T A
    _times_inverse(new_row, inverse, k, w_row)
    for i in range(k):
        factor = move[i] / schur
        for j in range(k):
            inverse[i, j] += factor * w_row[j]
        inverse[i, k] = -factor
    for j in range(k):
        inverse[k, j] = -w_row[j] / schur
    inverse[k, k] = 1.0 / schur
    return True


_add_row_and_column = _jit(_add_row_and_column_impl)


def _remove_row_and_column_impl(inverse, k, row_position, column_position, pivot_floor):
    """Elbow row ``row_position`` and free column ``column_position`` taken out of ``B``
    (the others keep their order): ``A`` without that row and column, less
    their product over the pivot ``A[column_position, row_position]``."""
    pivot = inverse[column_position, row_position]
    largest = 0.0
    for j in range(k):
        largest = max(largest, abs(inverse[column_position, j]))
    if not abs(pivot) > pivot_floor * largest:
        return False
    old = inverse[:k, :k].copy()
    i_new = 0
    for i in range(k):
        if i == column_position:
            continue
        factor = old[i, row_position] / pivot
        j_new = 0
        for j in range(k):
            if j == row_position:
                continue
            inverse[i_new, j_new] = old[i, j] - factor * old[column_position, j]
            j_new += 1
        i_new += 1
    return True


_remove_row_and_column = _jit(_remove_row_and_column_impl)


def _replace_column_impl(inverse, k, position, move, pivot_floor):
    """Free column ``position`` of ``B`` replaced by ``b`` (``move = A b``), moved to
    the last place (the others keep their order): Sherman and Morrison."""
    pivot = move[position]
    largest = 0.0
    for i in range(k):
        largest = max(largest, abs(move[i]))
    if not abs(pivot) > pivot_floor * largest:
        return False
    replaced = inverse[position, :k] / pivot  # the new column's row of A
    for i in range(k):
        if i != position:
            for j in range(k):
                inverse[i, j] -= move[i] * replaced[j]
    for i in range(position, k - 1):
        inverse[i, :k] = inverse[i + 1, :k]
    inverse[k - 1, :k] = replaced
    return True


_replace_column = _jit(_replace_column_impl)


def _walk_near_rows_impl(Z, w, lam, base_limit, high, low, row_threshold, max_pivots,
                         n_features, max_updates, pivot_floor,
                         rows, local, ZT, u, h, gains,
                         far, norms_far, u_far, ratio_far, far_base, rho_squared,
                         beta, elbow, free, inverse, state, wtheta):
    """Pivots from the vertex ``(elbow, free)`` until the walk needs its caller.

    Pricing is by the steepest edge: the directional derivative per unit
    length of the step in the scaled coefficients, over the releases of the
    elbow rows whose ``theta`` is out of its box and the weight at zero
    whose subgradient most exceeds its L1 strength; the line search is the
    long step over the near rows; the basis inverse is updated in place for
    each change of the basis (a row swapped, a row and a column added or
    taken out, a column swapped), every ``max_updates`` updates or at a small
    pivot it is left to the caller to factorise afresh.

    In place: ``beta``, the basis (``elbow[:k]``, ``free[:k]`` and
    ``inverse[:k, :k]``, the inverse of ``Z[elbow][:, free]``, its rows for
    the free columns), the near rows' arguments ``u`` and the gradient part
    ``h`` (all rows, elbow rows excepted), the far rows' base, and ``state``
    = ``[k, pivots, updates]``; at the optimum ``wtheta[:k]``, the elbow
    rows' slopes times their weights. Returns what it stopped for (the
    module's constants): before a step when the near rows do not decide
    it, after one when the basis needs factorising.
    """
    m = Z.shape[1]
    n_near = rows.size
    k, pivots, updates = state[0], state[1], state[2]
    mid, half = 0.5 * (high + low), 0.5 * (high - low)
    tiny = np.finfo(np.float64).tiny
    # What the basis fixes: the free columns' limits (never leaving), the
    # elbow rows' near positions, weights and rows.
    limit = base_limit.copy()
    local_elbow = np.empty(m, dtype=np.int64)
    w_e = np.empty(m)
    rows_e = np.empty((m, m))
    for i in range(k):
        limit[free[i]] = np.inf
        local_elbow[i] = local[elbow[i]]
        w_e[i] = w[elbow[i]]
        rows_e[i] = Z[elbow[i]]
        # The caller's invariant (the near rows hold the elbow); the loops
        # run without bounds checks, so a broken one must not go further.
        if local_elbow[i] < 0:
            return BROKEN_BASIS
    g = np.empty(m)
    d = np.zeros(m)
    du = np.empty(n_near)
    move = np.empty(m)
    rhs = np.empty(m)
    new_row = np.empty(m)
    while True:
        # The elbow samples' slopes (times their weights) that make the free
        # coefficients stationary (their L1 part included), and every
        # column's subgradient.
        for i in range(k):
            rhs[i] = -lam[free[i]] * _sign(beta[free[i]]) - h[free[i]]
        _times_inverse(rhs, inverse, k, wtheta)
        for c in range(m):
            total = h[c]
            for j in range(k):
                total += wtheta[j] * rows_e[j, c]
            g[c] = total
        kind = 0  # 0: none, 1: release an elbow row, 2: free a weight
        best, index, sign, derivative = 0.0, -1, 0.0, 0.0
        if k > 0:
            # How far each slope is out of [low, high] (negative inside),
            # times its weight, per unit length of its edge.
            best_rate, best_j = -np.inf, -1
            for j in range(k):
                norm = 0.0
                for i in range(k):
                    norm += inverse[i, j] * inverse[i, j]
                rate = (abs(wtheta[j] - mid * w_e[j]) - half * w_e[j]) / np.sqrt(norm)
                if rate > best_rate:
                    best_rate, best_j = rate, j
            if best_j >= 0:
                out = abs(wtheta[best_j] - mid * w_e[best_j]) - half * w_e[best_j]
                if out > row_threshold * w_e[best_j]:
                    kind, index, best, derivative = 1, best_j, best_rate, -out
                    sign = 1.0 if wtheta[best_j] > mid * w_e[best_j] else -1.0
        best_over, column = -np.inf, -1
        for c in range(m):
            over = abs(g[c]) - limit[c]
            if over > best_over:
                best_over, column = over, c
        if best_over > 0:
            squared = 0.0
            for i in range(k):
                total = 0.0
                for j in range(k):
                    total += inverse[i, j] * rows_e[j, column]
                move[i] = total
                squared += total * total
            excess = abs(g[column]) - lam[column]
            if excess / np.sqrt(1.0 + squared) > best:
                kind, index, derivative = 2, column, -excess
                sign = -_sign(g[column])
        if kind == 0:
            state[0], state[1], state[2] = k, pivots, updates
            return OPTIMAL
        if pivots >= max_pivots:
            state[0], state[1], state[2] = k, pivots, updates
            return PIVOT_LIMIT
        # The edge's direction in the coefficients, and the near rows' rates
        # along it (only the moving columns are read).
        d[:] = 0.0
        if kind == 1:
            for i in range(k):
                d[free[i]] = sign * inverse[i, index]
        else:
            d[index] = sign
            for i in range(k):
                d[free[i]] = -sign * move[i]
        du[:] = 0.0
        for c in range(m):
            if d[c] != 0.0:
                for r in range(n_near):
                    du[r] += d[c] * ZT[c, r]
        found, t, entering_row, entering, passed = line_search(
            u, du, gains, beta, d, lam, derivative, n_features)
        if not found:
            state[0], state[1], state[2] = k, pivots, updates
            return NO_STOP_NEAR if far.size > 0 else UNBOUNDED
        beta_new = beta + t * d
        if far.size > 0 and not _far_keep(Z, far, norms_far, u_far, ratio_far, far_base,
                                          rho_squared, beta_new):
            state[0], state[1], state[2] = k, pivots, updates
            return FAR_ROW_PASSED
        pivots += 1
        # The step and the basis change; h follows the rows whose slopes
        # change: the passed ones (by w (high - low), towards the side they
        # move to), the leaving row (from 0) and the entering one (to 0).
        beta[:] = beta_new
        for r in range(n_near):
            u[r] += t * du[r]
        for position in passed:
            change = gains[position] * _sign(u[position])
            for c in range(m):
                h[c] += ZT[c, position] * change
        if kind == 1:
            leaving = local_elbow[index]
            # Its argument leaves the kink on the released side.
            u[leaving] = sign * max(abs(t * du[leaving]), tiny)
            change = w_e[index] * (high if sign > 0 else low)
            for c in range(m):
                h[c] += ZT[c, leaving] * change
        # The basis changes by one row, one column or both: its inverse is
        # updated in place, or factorised afresh by the caller (every
        # max_updates updates, to bound their rounding, or at a small pivot).
        if entering_row:
            row = rows[entering]
            # It reached the kink from the side it moved away from.
            change = -w[row] * (high if du[entering] < 0 else low)
            for c in range(m):
                h[c] += ZT[c, entering] * change
            u[entering] = 0.0
            if kind == 1:
                # The same basis position.
                elbow[index], local_elbow[index], w_e[index] = row, entering, w[row]
                rows_e[index] = Z[row]
                for i in range(k):
                    new_row[i] = Z[row, free[i]]
                refactor = updates >= max_updates or not _replace_row(
                    inverse, k, index, new_row, pivot_floor)
            else:
                for i in range(k):
                    new_row[i] = Z[row, free[i]]
                refactor = updates >= max_updates or not _add_row_and_column(
                    inverse, k, move, new_row, Z[row, index], pivot_floor)
                elbow[k], free[k] = row, index
                local_elbow[k], w_e[k] = entering, w[row]
                rows_e[k] = Z[row]
                limit[index] = np.inf
                k += 1
        else:
            beta[entering] = 0.0
            limit[entering] = base_limit[entering]
            # The weight leaves the free set (the order of the others kept).
            position = 0
            while position < k and free[position] != entering:
                position += 1
            if position == k:  # only a free weight can reach zero
                state[0], state[1], state[2] = k, pivots, updates
                return BROKEN_BASIS
            if kind == 1:
                refactor = updates >= max_updates or not _remove_row_and_column(
                    inverse, k, index, position, pivot_floor)
            else:
                refactor = updates >= max_updates or not _replace_column(
                    inverse, k, position, move, pivot_floor)
            for i in range(position, k - 1):
                free[i] = free[i + 1]
            if kind == 1:
                # The released row leaves the elbow.
                for i in range(index, k - 1):
                    elbow[i], local_elbow[i], w_e[i] = elbow[i + 1], local_elbow[i + 1], w_e[
                        i + 1]
                    rows_e[i] = rows_e[i + 1]
                k -= 1
            else:
                free[k - 1] = index
                limit[index] = np.inf
        # The elbow rows stay exactly on the kink (the step moves them by
        # rounding), which keeps them out of the line searches.
        for i in range(k):
            u[local_elbow[i]] = 0.0
        if refactor:
            state[0], state[1], state[2] = k, pivots, 0
            return REFACTOR
        updates += 1


walk_near_rows = _jit(_walk_near_rows_impl)
