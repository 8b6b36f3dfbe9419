/* The anomaly detector's per-reading loop in C (异常检测核心).
 *
 * This is a line-by-line port of the reference implementation in anomaly.py and rolling.py (ReferenceAnomaly):
 * every floating-point operation is the same operation in the same order, so a series scores bit for bit as it
 * does in Python, and a state dumped here loads there and the other way round (the tests check both on crafted
 * series, on NAB files and across resumes). Two things differ in how, not in what:
 *
 *  - The sorted windows are blocked sorted lists (blocks of at most 2 * BLOCK values) instead of one sorted array,
 *    so that adding a value to a window of 20,160 moves a few hundred bytes instead of 80 KB.
 *  - The sums of the outer 10% of a window (the exponential tail fits, math.fsum in Python) are kept as exact
 *    running sums (Shewchuk expansions, as inside CPython's math.fsum) and rounded once when a fit needs them:
 *    math.fsum is correctly rounded, so the result is the same double, without summing 2,016 values every ten
 *    readings.
 *
 * The Python side (anomaly.py) passes the configuration, the local clock of each reading and its values; the
 * state crosses as plain tuples (see core_dump / core_load).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 128 /* a block splits at 2 * BLOCK values */
#define EXP_MAX 96 /* a non-overlapping expansion of doubles has at most ~40 parts */

/* ------------------------------------------------------------------------------------------ exact sums */
typedef struct {
    int n;
    int ok; /* 0: overflowed (never for finite sensor values); the caller recomputes */
    double p[EXP_MAX];
} Expansion;

static void exp_clear(Expansion *e) {
    e->n = 0;
    e->ok = 1;
}

/* CPython's math.fsum inner loop: add x to the partials (exact). */
static void exp_add(Expansion *e, double x) {
    int i = 0, j;
    for (j = 0; j < e->n; j++) {
        double y = e->p[j];
        if (fabs(x) < fabs(y)) {
            double t = x;
            x = y;
            y = t;
        }
        double hi = x + y;
        double yr = hi - x;
        double lo = y - yr;
        if (lo != 0.0) e->p[i++] = lo;
        x = hi;
    }
    e->n = i;
    if (x != 0.0) {
        if (!isfinite(x) || e->n >= EXP_MAX) {
            e->ok = 0;
            e->n = 0;
            return;
        }
        e->p[e->n++] = x;
    }
}

/* CPython's math.fsum over an array: the correctly rounded sum. */
static double fsum_array(const double *xs, Py_ssize_t m) {
    Expansion e;
    exp_clear(&e);
    for (Py_ssize_t k = 0; k < m; k++) exp_add(&e, xs[k]);
    if (!e.ok) return NAN; /* overflow: values are kept within +-1e250 (anomaly.MAX_VALUE), so never */
    int n = e.n;
    double *p = e.p;
    double hi = 0.0, lo = 0.0, x, y, yr;
    if (n > 0) {
        hi = p[--n];
        while (n > 0) {
            x = hi;
            y = p[--n];
            hi = x + y;
            yr = hi - x;
            lo = y - yr;
            if (lo != 0.0) break;
        }
        if (n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0))) {
            y = lo * 2.0;
            x = hi + y;
            yr = x - hi;
            if (y == yr) hi = x;
        }
    }
    return hi;
}

static double exp_value(const Expansion *e) { return fsum_array(e->p, e->n); }

/* ------------------------------------------------------------------------------------ blocked sorted list */
typedef struct {
    Py_ssize_t n;
    int nb, capb;
    double **blk;
    int *cnt;
    double *mx; /* the largest value of each block */
} BList;

static int bl_init(BList *b) {
    memset(b, 0, sizeof(*b));
    return 0;
}

static void bl_free(BList *b) {
    for (int i = 0; i < b->nb; i++) PyMem_Free(b->blk[i]);
    PyMem_Free(b->blk);
    PyMem_Free(b->cnt);
    PyMem_Free(b->mx);
    memset(b, 0, sizeof(*b));
}

static int bl_reserve(BList *b, int nb) {
    if (nb <= b->capb) return 0;
    int cap = b->capb ? b->capb * 2 : 8;
    while (cap < nb) cap *= 2;
    double **blk = PyMem_Realloc(b->blk, sizeof(double *) * cap);
    if (!blk) return -1;
    b->blk = blk;
    int *cnt = PyMem_Realloc(b->cnt, sizeof(int) * cap);
    if (!cnt) return -1;
    b->cnt = cnt;
    double *mx = PyMem_Realloc(b->mx, sizeof(double) * cap);
    if (!mx) return -1;
    b->mx = mx;
    b->capb = cap;
    return 0;
}

/* first block whose max is >= x (left) or > x (right); nb when none */
static int bl_block_left(const BList *b, double x) {
    int lo = 0, hi = b->nb;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (b->mx[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int bl_block_right(const BList *b, double x) {
    int lo = 0, hi = b->nb;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (x < b->mx[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int arr_left(const double *a, int n, double x) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int arr_right(const double *a, int n, double x) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (x < a[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* global position of (block, offset), counting from the nearer end */
static Py_ssize_t bl_pos(const BList *b, int blk, int off) {
    Py_ssize_t before = 0;
    if (blk <= b->nb / 2) {
        for (int i = 0; i < blk; i++) before += b->cnt[i];
        return before + off;
    }
    Py_ssize_t after = 0;
    for (int i = blk; i < b->nb; i++) after += b->cnt[i];
    return b->n - after + off;
}

static double bl_at(const BList *b, Py_ssize_t p) {
    if (p < b->n / 2) {
        for (int i = 0; i < b->nb; i++) {
            if (p < b->cnt[i]) return b->blk[i][p];
            p -= b->cnt[i];
        }
    } else {
        Py_ssize_t q = b->n - 1 - p; /* from the end */
        for (int i = b->nb - 1; i >= 0; i--) {
            if (q < b->cnt[i]) return b->blk[i][b->cnt[i] - 1 - q];
            q -= b->cnt[i];
        }
    }
    return NAN; /* not reached */
}

/* bisect_left / bisect_right over the whole list */
static Py_ssize_t bl_rank_left(const BList *b, double x) {
    int k = bl_block_left(b, x);
    if (k == b->nb) return b->n;
    return bl_pos(b, k, arr_left(b->blk[k], b->cnt[k], x));
}

static Py_ssize_t bl_rank_right(const BList *b, double x) {
    int k = bl_block_right(b, x);
    if (k == b->nb) return b->n;
    return bl_pos(b, k, arr_right(b->blk[k], b->cnt[k], x));
}

/* where insort_right would put x: (block, offset); creates the first block */
static int bl_insert_at(BList *b, double x, int *blk, int *off) {
    if (b->nb == 0) {
        if (bl_reserve(b, 1) < 0) return -1;
        b->blk[0] = PyMem_Malloc(sizeof(double) * 2 * BLOCK);
        if (!b->blk[0]) return -1;
        b->cnt[0] = 0;
        b->mx[0] = x;
        b->nb = 1;
    }
    int k = bl_block_right(b, x);
    if (k == b->nb) k = b->nb - 1;
    *blk = k;
    *off = arr_right(b->blk[k], b->cnt[k], x);
    return 0;
}

static int bl_insert(BList *b, double x, int k, int off) {
    double *a = b->blk[k];
    int c = b->cnt[k];
    memmove(a + off + 1, a + off, sizeof(double) * (c - off));
    a[off] = x;
    c++;
    b->cnt[k] = c;
    b->mx[k] = a[c - 1];
    b->n++;
    if (c == 2 * BLOCK) { /* split */
        if (bl_reserve(b, b->nb + 1) < 0) return -1;
        double *na = PyMem_Malloc(sizeof(double) * 2 * BLOCK);
        if (!na) return -1;
        memcpy(na, a + BLOCK, sizeof(double) * BLOCK);
        memmove(b->blk + k + 2, b->blk + k + 1, sizeof(double *) * (b->nb - k - 1));
        memmove(b->cnt + k + 2, b->cnt + k + 1, sizeof(int) * (b->nb - k - 1));
        memmove(b->mx + k + 2, b->mx + k + 1, sizeof(double) * (b->nb - k - 1));
        b->blk[k + 1] = na;
        b->cnt[k + 1] = BLOCK;
        b->mx[k + 1] = na[BLOCK - 1];
        b->cnt[k] = BLOCK;
        b->mx[k] = a[BLOCK - 1];
        b->nb++;
    }
    return 0;
}

static void bl_remove_block(BList *b, int k) {
    PyMem_Free(b->blk[k]);
    memmove(b->blk + k, b->blk + k + 1, sizeof(double *) * (b->nb - k - 1));
    memmove(b->cnt + k, b->cnt + k + 1, sizeof(int) * (b->nb - k - 1));
    memmove(b->mx + k, b->mx + k + 1, sizeof(double) * (b->nb - k - 1));
    b->nb--;
}

/* delete the element at (block, offset); small blocks merge with a neighbour */
static void bl_delete(BList *b, int k, int off) {
    double *a = b->blk[k];
    int c = b->cnt[k];
    memmove(a + off, a + off + 1, sizeof(double) * (c - off - 1));
    c--;
    b->cnt[k] = c;
    b->n--;
    if (c == 0) {
        bl_remove_block(b, k);
        return;
    }
    b->mx[k] = a[c - 1];
    if (c < BLOCK / 2 && b->nb > 1) {
        int left = (k + 1 < b->nb) ? k : k - 1; /* merge blocks left and left + 1 */
        int total = b->cnt[left] + b->cnt[left + 1];
        if (total < 2 * BLOCK) {
            memcpy(b->blk[left] + b->cnt[left], b->blk[left + 1], sizeof(double) * b->cnt[left + 1]);
            b->cnt[left] = total;
            b->mx[left] = b->blk[left][total - 1];
            bl_remove_block(b, left + 1);
        }
    }
}

/* ---------------------------------------------------------------------------------------- rolling window */
typedef struct {
    Py_ssize_t size, n, head, cap;
    double *ring; /* arrival order: ring[(head + i) % size]; linear (head 0) until full */
    double sum;
    BList s;
    /* exact sums of the tk largest and tk smallest values (0: not tracked) */
    Py_ssize_t tk;
    Expansion top, bot;
} Window;

static void win_init(Window *w, Py_ssize_t size) {
    memset(w, 0, sizeof(*w));
    w->size = size;
    bl_init(&w->s);
}

static void win_free(Window *w) {
    PyMem_Free(w->ring);
    bl_free(&w->s);
    w->ring = NULL;
    w->n = w->head = w->cap = 0;
}

static int win_reserve(Window *w) {
    if (w->n < w->cap) return 0;
    Py_ssize_t cap = w->cap ? w->cap * 2 : 64;
    if (cap > w->size) cap = w->size;
    double *r = PyMem_Realloc(w->ring, sizeof(double) * cap);
    if (!r) return -1;
    w->ring = r;
    w->cap = cap;
    return 0;
}

static int win_add(Window *w, double x) {
    BList *s = &w->s;
    if (w->n == w->size) {
        double old = w->ring[w->head];
        int k = bl_block_left(s, old);
        int off = k < s->nb ? arr_left(s->blk[k], s->cnt[k], old) : 0;
        if (k == s->nb || off == s->cnt[k] || !(s->blk[k][off] == old)) {
            PyErr_SetString(PyExc_RuntimeError, "anomaly core: a window lost its order (a NaN got in)");
            return -1;
        }
        if (w->tk) {
            Py_ssize_t n = s->n, tk = w->tk;
            if (n - tk - 1 < 0 || tk >= n) {
                w->tk = 0;
            } else {
                Py_ssize_t i = bl_pos(s, k, off);
                if (i >= n - tk) {
                    exp_add(&w->top, bl_at(s, n - tk - 1));
                    exp_add(&w->top, -old);
                }
                if (i < tk) {
                    exp_add(&w->bot, bl_at(s, tk));
                    exp_add(&w->bot, -old);
                }
            }
        }
        bl_delete(s, k, off);
        w->sum -= old;
        w->head = (w->head + 1) % w->size;
        w->n--;
    } else if (win_reserve(w) < 0) {
        return -1;
    }
    w->ring[(w->head + w->n) % w->size] = x;
    w->n++;
    int k, off;
    if (bl_insert_at(s, x, &k, &off) < 0) return -1;
    if (w->tk) {
        Py_ssize_t n = s->n, tk = w->tk;
        Py_ssize_t i = bl_pos(s, k, off);
        if (tk > n) {
            w->tk = 0;
        } else {
            if (i > n - tk) {
                exp_add(&w->top, x);
                exp_add(&w->top, -bl_at(s, n - tk));
            }
            if (i < tk) {
                exp_add(&w->bot, x);
                exp_add(&w->bot, -bl_at(s, tk - 1));
            }
        }
    }
    if (bl_insert(s, x, k, off) < 0) return -1;
    w->sum += x;
    if (w->tk && (!w->top.ok || !w->bot.ok)) w->tk = 0;
    return 0;
}

static double win_quantile(const Window *w, double q) {
    Py_ssize_t n = w->s.n;
    if (n == 0) return NAN;
    double pos = q * (double)(n - 1);
    Py_ssize_t lo = (Py_ssize_t)pos;
    Py_ssize_t hi = lo + 1 < n - 1 ? lo + 1 : n - 1;
    double a = bl_at(&w->s, lo), b = bl_at(&w->s, hi);
    return a + (b - a) * (pos - (double)lo);
}

static Py_ssize_t win_count_at_least(const Window *w, double x) { return w->s.n - bl_rank_left(&w->s, x); }

static Py_ssize_t win_count_at_most(const Window *w, double x) { return bl_rank_right(&w->s, x); }

/* exact sum of the values at sorted positions [from, to) */
static double win_fsum_range(const Window *w, Py_ssize_t from, Py_ssize_t to) {
    Expansion e;
    exp_clear(&e);
    Py_ssize_t p = 0;
    for (int i = 0; i < w->s.nb && p < to; i++) {
        int c = w->s.cnt[i];
        for (int j = 0; j < c; j++, p++) {
            if (p >= from && p < to) exp_add(&e, w->s.blk[i][j]);
        }
    }
    return exp_value(&e);
}

/* fsum(ordered[-k:]) and fsum(ordered[:k]) through the tracked sums */
static void win_tail_sums(Window *w, Py_ssize_t k, double *top, double *bot) {
    BList *s = &w->s;
    Py_ssize_t n = s->n;
    if (w->tk && w->tk + 1 == k && k < n) {
        exp_add(&w->top, bl_at(s, n - k));
        exp_add(&w->bot, bl_at(s, k - 1));
        w->tk = k;
        if (!w->top.ok || !w->bot.ok) w->tk = 0;
    }
    if (w->tk != k) {
        exp_clear(&w->top);
        exp_clear(&w->bot);
        Py_ssize_t p = 0;
        for (int i = 0; i < s->nb; i++) {
            for (int j = 0; j < s->cnt[i]; j++, p++) {
                double v = s->blk[i][j];
                if (p < k) exp_add(&w->bot, v);
                if (p >= n - k) exp_add(&w->top, v);
            }
        }
        w->tk = (w->top.ok && w->bot.ok && k < n) ? k : 0;
        *top = w->top.ok ? exp_value(&w->top) : win_fsum_range(w, n - k, n);
        *bot = w->bot.ok ? exp_value(&w->bot) : win_fsum_range(w, 0, k);
        return;
    }
    *top = exp_value(&w->top);
    *bot = exp_value(&w->bot);
}

/* --------------------------------------------------------------------------------------------- tail tests */
static double beyond(Py_ssize_t count, Py_ssize_t n, double mass, double excess, double scale) {
    if (scale <= 0) {
        double c = count > 1 ? (double)count : 1.0;
        return c / (double)(n + 1);
    }
    double a = mass * exp(-excess / scale);
    double b = (double)count / (double)(n + 1);
    return b > a ? b : a;
}

typedef struct {
    Window w;
    Py_ssize_t min_history;
    double tail_fraction;
    long long added;
    int has_fit;
    double fit[5]; /* mass, upper u, scale, lower u, scale */
} TwoTail;

static double two_p_value(TwoTail *t, double v) {
    Window *w = &t->w;
    Py_ssize_t n = w->s.n;
    if (n < t->min_history) return 1.0;
    if (!t->has_fit) {
        Py_ssize_t k = (Py_ssize_t)((double)n * t->tail_fraction);
        if (k < 5) k = 5;
        if (k + 1 > n) return 1.0; /* min_history >= 6 (AnomalyConfig) keeps this from happening */
        double hi_u = bl_at(&w->s, n - k - 1);
        double lo_u = bl_at(&w->s, k);
        double top, bot;
        win_tail_sums(w, k, &top, &bot);
        t->fit[0] = (double)k / (double)(n + 1);
        t->fit[1] = hi_u;
        t->fit[2] = top / (double)k - hi_u;
        t->fit[3] = lo_u;
        t->fit[4] = lo_u - bot / (double)k;
        t->has_fit = 1;
    }
    double mass = t->fit[0], hi_u = t->fit[1], hi_scale = t->fit[2], lo_u = t->fit[3], lo_scale = t->fit[4];
    double p;
    if (v > hi_u) {
        p = beyond(win_count_at_least(w, v), n, mass, v - hi_u, hi_scale);
    } else if (v < lo_u) {
        p = beyond(win_count_at_most(w, v), n, mass, lo_u - v, lo_scale);
    } else {
        Py_ssize_t a = win_count_at_least(w, v), b = win_count_at_most(w, v);
        p = (double)((b < a ? b : a) + 1) / (double)(n + 1);
    }
    p = 2.0 * p;
    return p < 1.0 ? p : 1.0;
}

static int two_add(TwoTail *t, double v) {
    if (win_add(&t->w, v) < 0) return -1;
    t->added++;
    if (t->added % 10 == 0 || t->w.n <= t->min_history) t->has_fit = 0;
    return 0;
}

typedef struct { /* TailCalibrator: one-sided, fitted on demand (the dropout test, rarely asked) */
    Window w;
    Py_ssize_t min_history;
    double tail_fraction, min_scale;
    long long added;
    int has_fit;
    double fit[3];
} Calib;

static double calib_p_value(Calib *c, double s) {
    Window *w = &c->w;
    Py_ssize_t n = w->s.n;
    if (n < c->min_history) return 1.0;
    if (!c->has_fit) {
        Py_ssize_t k = (Py_ssize_t)((double)n * c->tail_fraction);
        if (k < 5) k = 5;
        if (k + 1 > n) return 1.0;
        double u = bl_at(&w->s, n - k - 1);
        double scale = win_fsum_range(w, n - k, n) / (double)k - u;
        c->fit[0] = (double)k / (double)(n + 1);
        c->fit[1] = u;
        c->fit[2] = c->min_scale > scale ? c->min_scale : scale;
        c->has_fit = 1;
    }
    if (s <= c->fit[1]) return (double)(win_count_at_least(w, s) + 1) / (double)(n + 1);
    return beyond(win_count_at_least(w, s), n, c->fit[0], s - c->fit[1], c->fit[2]);
}

static int calib_add(Calib *c, double s) {
    if (win_add(&c->w, s) < 0) return -1;
    c->added++;
    if (c->added % 10 == 0 || c->w.n <= c->min_history) c->has_fit = 0;
    return 0;
}

/* ------------------------------------------------------------------------------------------------ helpers */
/* Python's sorted() is stable, and -0.0 == 0.0: so that a median picks the same zero, every sort here is stable
 * (insertion sort for short arrays, a merge sort through a scratch buffer for long ones) */
static void merge_sort(double *a, double *tmp, Py_ssize_t n) {
    for (Py_ssize_t width = 1; width < n; width *= 2) {
        for (Py_ssize_t lo = 0; lo < n; lo += 2 * width) {
            Py_ssize_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            Py_ssize_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = (a[j] < a[i]) ? a[j++] : a[i++];
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        memcpy(a, tmp, sizeof(double) * n);
    }
}

static void sort_small(double *a, Py_ssize_t n) {
    if (n > 48) {
        double *tmp = PyMem_Malloc(sizeof(double) * n);
        if (tmp) {
            merge_sort(a, tmp, n);
            PyMem_Free(tmp);
            return;
        }
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        double v = a[i];
        Py_ssize_t j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

/* anomaly._median: sorts a copy */
static double median_of(double *a, Py_ssize_t n) {
    sort_small(a, n);
    return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

/* CPython's float floor division (float_floor_div via _float_div_mod) */
static double py_floordiv(double vx, double wx) {
    double mod = fmod(vx, wx);
    double div = (vx - mod) / wx;
    double floordiv;
    if (mod) {
        if ((wx < 0) != (mod < 0)) {
            mod += wx;
            div -= 1.0;
        }
    }
    if (div) {
        floordiv = floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, vx / wx);
    }
    return floordiv;
}

/* --------------------------------------------------------------------------------------------- channel */
enum { ST_RANGE, ST_JUMP, ST_DEVIATION, ST_LEVEL, NSTAT };
enum { K_NONE, K_RANGE, K_JUMP, K_DEVIATION, K_LEVEL, K_STUCK, K_GAP, K_MISSING };
enum { CH_RAW, CH_DAILY, CH_WEEKLY };

typedef struct {
    int has_prev;
    double prev, rough;
    long long rough_n;
    double *recent; /* ring of at most recent_max values */
    int recent_n, recent_head, recent_max;
    TwoTail tests[NSTAT]; /* indexed by the active order (Core.stat) */
} Channel;

/* --------------------------------------------------------------------------------------- seasonal profile */
typedef struct {
    long long slot;
    int weekday; /* -1: daily */
    Py_ssize_t n, cap;
    long long *day;
    double *val;
} Slot;

typedef struct {
    int weekly, keep;
    Py_ssize_t n, cap; /* slots in insertion order */
    Slot *slots;
    Py_ssize_t hcap; /* open addressing: slot index + 1, 0 empty */
    Py_ssize_t *hash;
} Profile;

static uint64_t slot_hash(long long slot, int weekday) {
    uint64_t h = (uint64_t)slot * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)(weekday + 2) * 0xC2B2AE3D27D4EB4FULL);
    return h ^ (h >> 29);
}

static void prof_free(Profile *p) {
    for (Py_ssize_t i = 0; i < p->n; i++) {
        PyMem_Free(p->slots[i].day);
        PyMem_Free(p->slots[i].val);
    }
    PyMem_Free(p->slots);
    PyMem_Free(p->hash);
    p->slots = NULL;
    p->hash = NULL;
    p->n = p->cap = p->hcap = 0;
}

static int prof_rehash(Profile *p, Py_ssize_t hcap) {
    Py_ssize_t *h = PyMem_Calloc((size_t)hcap, sizeof(Py_ssize_t));
    if (!h) return -1;
    for (Py_ssize_t i = 0; i < p->n; i++) {
        uint64_t j = slot_hash(p->slots[i].slot, p->slots[i].weekday) & (uint64_t)(hcap - 1);
        while (h[j]) j = (j + 1) & (uint64_t)(hcap - 1);
        h[j] = i + 1;
    }
    PyMem_Free(p->hash);
    p->hash = h;
    p->hcap = hcap;
    return 0;
}

/* the slot, created (empty, at the end of the insertion order) when missing */
static Slot *prof_slot(Profile *p, long long slot, int weekday) {
    if (p->hcap) {
        uint64_t j = slot_hash(slot, weekday) & (uint64_t)(p->hcap - 1);
        while (p->hash[j]) {
            Slot *s = &p->slots[p->hash[j] - 1];
            if (s->slot == slot && s->weekday == weekday) return s;
            j = (j + 1) & (uint64_t)(p->hcap - 1);
        }
    }
    if (p->n == p->cap) {
        Py_ssize_t cap = p->cap ? p->cap * 2 : 64;
        Slot *ns = PyMem_Realloc(p->slots, sizeof(Slot) * cap);
        if (!ns) return NULL;
        p->slots = ns;
        p->cap = cap;
    }
    Slot *s = &p->slots[p->n++];
    memset(s, 0, sizeof(*s));
    s->slot = slot;
    s->weekday = weekday;
    if ((p->n) * 2 > p->hcap) {
        if (prof_rehash(p, p->hcap ? p->hcap * 2 : 128) < 0) return NULL;
    } else {
        uint64_t j = slot_hash(slot, weekday) & (uint64_t)(p->hcap - 1);
        while (p->hash[j]) j = (j + 1) & (uint64_t)(p->hcap - 1);
        p->hash[j] = p->n;
    }
    return s;
}

static int slot_append(Slot *s, long long day, double v) {
    if (s->n == s->cap) {
        Py_ssize_t cap = s->cap ? s->cap * 2 : 8;
        long long *d = PyMem_Realloc(s->day, sizeof(long long) * cap);
        if (!d) return -1;
        s->day = d;
        double *nv = PyMem_Realloc(s->val, sizeof(double) * cap);
        if (!nv) return -1;
        s->val = nv;
        s->cap = cap;
    }
    s->day[s->n] = day;
    s->val[s->n] = v;
    s->n++;
    return 0;
}

/* ------------------------------------------------------------------------------------------------ core */
typedef struct {
    /* configuration */
    Py_ssize_t min_history, history, range_history, local_window, level_window, season_min, season_warmup;
    Py_ssize_t stuck_min_run, stuck_runs;
    double tail_fraction, season_gain, bucket_min, stuck_alpha, gap_weight, gap_min, realert_s, score_decades;
    int nch, ch_kind[3];
    int nstat, stat[NSTAT];
    double weight[NSTAT];
    /* state */
    long long n;
    int has_prev_value, has_prev_time;
    double prev_value, prev_time;
    Window intervals;
    long long run;
    int stuck_reported;
    double *runs_v;
    long long *runs_n;
    Py_ssize_t runs_len, runs_head;
    Calib gaps;
    Window levels;
    int current;
    double *rq_t, *rq_s; /* realert max-queue */
    Py_ssize_t rq_head, rq_len, rq_cap;
    Channel ch[3];
    Profile prof[2]; /* daily, weekly */
    /* scratch */
    double *tmp;
    long long *tmpd;
    Py_ssize_t tmp_cap;
} Core;

static int core_scratch(Core *c, Py_ssize_t n) {
    if (n <= c->tmp_cap) return 0;
    Py_ssize_t cap = c->tmp_cap ? c->tmp_cap : 64;
    while (cap < n) cap *= 2;
    double *t = PyMem_Realloc(c->tmp, sizeof(double) * cap);
    if (!t) return -1;
    c->tmp = t;
    long long *d = PyMem_Realloc(c->tmpd, sizeof(long long) * cap);
    if (!d) return -1;
    c->tmpd = d;
    c->tmp_cap = cap;
    return 0;
}

static void core_free(Core *c) {
    win_free(&c->intervals);
    win_free(&c->gaps.w);
    win_free(&c->levels);
    PyMem_Free(c->runs_v);
    PyMem_Free(c->runs_n);
    PyMem_Free(c->rq_t);
    PyMem_Free(c->rq_s);
    for (int i = 0; i < 3; i++) {
        PyMem_Free(c->ch[i].recent);
        for (int j = 0; j < NSTAT; j++) win_free(&c->ch[i].tests[j].w);
    }
    prof_free(&c->prof[0]);
    prof_free(&c->prof[1]);
    PyMem_Free(c->tmp);
    PyMem_Free(c->tmpd);
    PyMem_Free(c);
}

static void capsule_free(PyObject *cap) {
    Core *c = PyCapsule_GetPointer(cap, "shizhi.anomaly_core");
    if (c) core_free(c);
}

static Core *get_core(PyObject *cap) { return PyCapsule_GetPointer(cap, "shizhi.anomaly_core"); }

/* reset the statistics (configuration kept) */
static void core_reset(Core *c) {
    win_free(&c->intervals);
    win_init(&c->intervals, 51);
    win_free(&c->gaps.w);
    win_init(&c->gaps.w, c->history);
    c->gaps.min_history = c->min_history;
    c->gaps.tail_fraction = c->tail_fraction;
    c->gaps.min_scale = 1.0;
    c->gaps.added = 0;
    c->gaps.has_fit = 0;
    win_free(&c->levels);
    win_init(&c->levels, 600);
    c->n = 0;
    c->has_prev_value = c->has_prev_time = 0;
    c->prev_value = c->prev_time = 0.0;
    c->run = 1;
    c->stuck_reported = 0;
    c->runs_len = c->runs_head = 0;
    c->current = CH_RAW;
    c->rq_head = c->rq_len = 0;
    for (int i = 0; i < c->nch; i++) {
        Channel *ch = &c->ch[i];
        ch->has_prev = 0;
        ch->prev = ch->rough = 0.0;
        ch->rough_n = 0;
        ch->recent_n = ch->recent_head = 0;
        for (int j = 0; j < c->nstat; j++) {
            TwoTail *t = &ch->tests[j];
            win_free(&t->w);
            win_init(&t->w, c->stat[j] == ST_RANGE ? c->range_history : c->history);
            t->min_history = c->min_history;
            t->tail_fraction = c->tail_fraction;
            t->added = 0;
            t->has_fit = 0;
        }
    }
    prof_free(&c->prof[0]);
    prof_free(&c->prof[1]);
}

static PyObject *core_new(PyObject *self, PyObject *args) {
    Py_ssize_t mh, hist, rh, lw, lvw, sd, sw, smin, swarm, smr, sruns;
    double tf, sgain, sbm, salpha, gw, gmin, rhours, sdec;
    PyObject *chans, *stats, *weights;
    if (!PyArg_ParseTuple(args, "nnnnndnnndndnndddddOOO", &mh, &hist, &rh, &lw, &lvw, &tf, &sd, &sw, &smin, &sgain,
                          &swarm, &sbm, &smr, &sruns, &salpha, &gw, &gmin, &rhours, &sdec, &chans, &stats, &weights))
        return NULL;
    Core *c = PyMem_Calloc(1, sizeof(Core));
    if (!c) return PyErr_NoMemory();
    c->min_history = mh;
    c->history = hist;
    c->range_history = rh;
    c->local_window = lw;
    c->level_window = lvw;
    c->tail_fraction = tf;
    c->season_min = smin;
    c->season_gain = sgain;
    c->season_warmup = swarm;
    c->bucket_min = 60.0 * sbm;
    c->stuck_min_run = smr;
    c->stuck_runs = sruns;
    c->stuck_alpha = salpha;
    c->gap_weight = gw;
    c->gap_min = gmin;
    c->realert_s = rhours * 3600.0;
    c->score_decades = sdec;
    c->prof[0].weekly = 0;
    c->prof[0].keep = (int)sd;
    c->prof[1].weekly = 1;
    c->prof[1].keep = (int)sw;
    Py_ssize_t nch = PySequence_Size(chans), nst = PySequence_Size(stats);
    if (nch < 1 || nch > 3 || nst < 0 || nst > NSTAT || PySequence_Size(weights) != nst) {
        PyMem_Free(c);
        PyErr_SetString(PyExc_ValueError, "bad channels or statistics");
        return NULL;
    }
    c->nch = (int)nch;
    c->nstat = (int)nst;
    for (Py_ssize_t i = 0; i < nch; i++) {
        PyObject *o = PySequence_GetItem(chans, i);
        c->ch_kind[i] = (int)PyLong_AsLong(o);
        Py_XDECREF(o);
    }
    for (Py_ssize_t i = 0; i < nst; i++) {
        PyObject *o = PySequence_GetItem(stats, i);
        c->stat[i] = (int)PyLong_AsLong(o);
        Py_XDECREF(o);
        o = PySequence_GetItem(weights, i);
        c->weight[i] = PyFloat_AsDouble(o);
        Py_XDECREF(o);
    }
    int seen = 0, bad = 0;
    for (int i = 0; i < c->nch; i++) {
        bad |= c->ch_kind[i] < 0 || c->ch_kind[i] > 2 || (seen & (1 << c->ch_kind[i]));
        seen |= 1 << (c->ch_kind[i] & 3);
    }
    seen = 0;
    for (int i = 0; i < c->nstat; i++) {
        bad |= c->stat[i] < 0 || c->stat[i] >= NSTAT || (seen & (1 << c->stat[i]));
        seen |= 1 << (c->stat[i] & 3);
    }
    if (!PyErr_Occurred() && (bad || mh < 6 || hist < 1 || rh < 1 || lw < 1 || lvw < 1 || sruns < 1 || sd < 1 || sw < 1))
        PyErr_SetString(PyExc_ValueError, "bad configuration of the anomaly core");
    if (PyErr_Occurred()) {
        PyMem_Free(c);
        return NULL;
    }
    Py_ssize_t rmax = lw > lvw ? lw : lvw;
    for (int i = 0; i < c->nch; i++) {
        c->ch[i].recent_max = (int)rmax;
        c->ch[i].recent = PyMem_Malloc(sizeof(double) * rmax);
        if (!c->ch[i].recent) {
            core_free(c);
            return PyErr_NoMemory();
        }
    }
    c->runs_v = PyMem_Malloc(sizeof(double) * sruns);
    c->runs_n = PyMem_Malloc(sizeof(long long) * sruns);
    if (!c->runs_v || !c->runs_n) {
        core_free(c);
        return PyErr_NoMemory();
    }
    core_reset(c);
    PyObject *cap = PyCapsule_New(c, "shizhi.anomaly_core", capsule_free);
    if (!cap) core_free(c);
    return cap;
}

/* Channel.update: the tail probabilities of v (has[j] for the active statistics that had a value), then learn */
static int channel_update(Core *c, Channel *ch, double v, double *ps, int *has) {
    double observed[NSTAT];
    int obs[NSTAT] = {1, 0, 0, 0};
    observed[ST_RANGE] = v;
    if (ch->has_prev) {
        double d = v - ch->prev;
        observed[ST_JUMP] = d;
        obs[ST_JUMP] = 1;
        ch->rough += (fabs(d) - ch->rough) * 0.005;
        ch->rough_n++;
    }
    int rn = ch->recent_n;
    if (rn >= c->local_window) {
        if (core_scratch(c, c->local_window + c->level_window + 1) < 0) return -1;
        for (Py_ssize_t i = 0; i < c->local_window; i++)
            c->tmp[i] = ch->recent[(ch->recent_head + rn - c->local_window + i) % ch->recent_max];
        observed[ST_DEVIATION] = v - median_of(c->tmp, c->local_window);
        obs[ST_DEVIATION] = 1;
    }
    if (rn >= c->level_window - 1) {
        if (core_scratch(c, c->local_window + c->level_window + 1) < 0) return -1;
        Py_ssize_t from = rn - c->level_window + 1, m = 0;
        if (from < 0) from = 0;
        for (Py_ssize_t i = from; i < rn; i++) c->tmp[m++] = ch->recent[(ch->recent_head + i) % ch->recent_max];
        c->tmp[m++] = v;
        observed[ST_LEVEL] = fsum_array(c->tmp, m) / (double)c->level_window;
        obs[ST_LEVEL] = 1;
    }
    if (rn < ch->recent_max) {
        ch->recent[(ch->recent_head + rn) % ch->recent_max] = v;
        ch->recent_n++;
    } else {
        ch->recent[ch->recent_head] = v;
        ch->recent_head = (ch->recent_head + 1) % ch->recent_max;
    }
    ch->prev = v;
    ch->has_prev = 1;
    for (int j = 0; j < c->nstat; j++) {
        int k = c->stat[j];
        has[j] = obs[k];
        if (obs[k]) {
            ps[j] = two_p_value(&ch->tests[j], observed[k]);
            if (two_add(&ch->tests[j], observed[k]) < 0) return -1;
        }
    }
    return 0;
}

static double smoothness(const Channel *ch) {
    if (ch->rough_n == 0) return INFINITY;
    return ch->rough / (1.0 - pow(1.0 - 0.005, (double)ch->rough_n));
}

/* SeasonalProfile.baseline_then_add; *ok = 0 when there is no baseline yet */
static int baseline_then_add(Core *c, Profile *p, long long slot, int weekday, long long day, double x,
                             double *base, int *ok) {
    Slot *s = prof_slot(p, slot, p->weekly ? weekday : -1);
    if (!s) return -1;
    long long oldest = day - (long long)p->keep * (p->weekly ? 7 : 1);
    if (core_scratch(c, s->n + 1) < 0) return -1;
    Py_ssize_t m = 0, e = 0;
    int ordered = 1;
    long long last = 0;
    for (Py_ssize_t i = 0; i < s->n; i++) {
        long long d = s->day[i];
        if (d < oldest) continue;
        s->day[m] = d;
        s->val[m] = s->val[i];
        m++;
        if (d < day) {
            if (e && d < last) ordered = 0;
            last = d;
            c->tmpd[e] = d;
            c->tmp[e++] = s->val[i];
        }
    }
    s->n = m;
    Py_ssize_t days = 0;
    if (ordered) {
        for (Py_ssize_t i = 0; i < e; i++)
            if (i == 0 || c->tmpd[i] != c->tmpd[i - 1]) days++;
    } else {
        long long *d = c->tmpd;
        for (Py_ssize_t i = 1; i < e; i++) { /* insertion sort of the days */
            long long v = d[i];
            Py_ssize_t j = i - 1;
            while (j >= 0 && d[j] > v) {
                d[j + 1] = d[j];
                j--;
            }
            d[j + 1] = v;
        }
        for (Py_ssize_t i = 0; i < e; i++)
            if (i == 0 || d[i] != d[i - 1]) days++;
    }
    *ok = days >= c->season_min;
    if (*ok) *base = median_of(c->tmp, e);
    return slot_append(s, day, x);
}

static double win_median(const Window *w) { return win_quantile(w, 0.5); }

/* AnomalyDetector._stuck; returns 1 with *p set when the run is reported */
static int stuck_test(Core *c, double x, double *p) {
    if (!c->has_prev_value) return 0;
    if (x == c->prev_value) {
        c->run++;
    } else {
        Py_ssize_t size = c->stuck_runs;
        Py_ssize_t at;
        if (c->runs_len < size) {
            at = (c->runs_head + c->runs_len) % size;
            c->runs_len++;
        } else {
            at = c->runs_head;
            c->runs_head = (c->runs_head + 1) % size;
        }
        c->runs_v[at] = c->prev_value;
        c->runs_n[at] = c->run;
        c->run = 1;
        c->stuck_reported = 0;
    }
    if (c->run < c->stuck_min_run || c->stuck_reported) return 0;
    /* RunModel.p_at_least(x, run, levels) */
    double pv = 1.0;
    Py_ssize_t nr = c->runs_len;
    if (nr >= 20) {
        if (core_scratch(c, nr) < 0) return -1;
        Py_ssize_t m = 0;
        Window *lv = &c->levels;
        if (lv->s.n >= 20) {
            double q = (double)win_count_at_most(lv, x) / (double)lv->s.n;
            double qa = q - 0.1, qb = q + 0.1;
            double lo = win_quantile(lv, qa > 0.0 ? qa : 0.0), hi = win_quantile(lv, qb < 1.0 ? qb : 1.0);
            for (Py_ssize_t i = 0; i < nr; i++) {
                Py_ssize_t j = (c->runs_head + i) % c->stuck_runs;
                double v = c->runs_v[j];
                if (lo <= v && v <= hi) c->tmp[m++] = (double)c->runs_n[j];
            }
        }
        if (m < 20) {
            m = 0;
            for (Py_ssize_t i = 0; i < nr; i++) c->tmp[m++] = (double)c->runs_n[(c->runs_head + i) % c->stuck_runs];
        }
        double *a = c->tmp;
        sort_small(a, m);
        /* tail_probability(lengths, run, min_scale=1) */
        Py_ssize_t k = (Py_ssize_t)((double)m * 0.1);
        if (k < 5) k = 5;
        double s = (double)c->run;
        if (m <= k) {
            pv = 1.0;
        } else {
            double u = a[m - k - 1];
            Py_ssize_t count = m - arr_left(a, (int)m, s);
            if (s <= u) {
                pv = (double)(count + 1) / (double)(m + 1);
            } else {
                double scale = fsum_array(a + m - k, k) / (double)k - u;
                if (1.0 > scale) scale = 1.0;
                pv = beyond(count, m, (double)k / (double)(m + 1), s - u, scale);
            }
        }
    }
    if (pv > c->stuck_alpha) return 0;
    c->stuck_reported = 1;
    *p = pv;
    return 1;
}

static int rq_push(Core *c, double t, double s) {
    if (c->rq_head + c->rq_len == c->rq_cap) {
        if (c->rq_head > 0) {
            memmove(c->rq_t, c->rq_t + c->rq_head, sizeof(double) * c->rq_len);
            memmove(c->rq_s, c->rq_s + c->rq_head, sizeof(double) * c->rq_len);
            c->rq_head = 0;
        }
        if (c->rq_len == c->rq_cap) {
            Py_ssize_t cap = c->rq_cap ? c->rq_cap * 2 : 64;
            double *a = PyMem_Realloc(c->rq_t, sizeof(double) * cap);
            if (!a) return -1;
            c->rq_t = a;
            a = PyMem_Realloc(c->rq_s, sizeof(double) * cap);
            if (!a) return -1;
            c->rq_s = a;
            c->rq_cap = cap;
        }
    }
    c->rq_t[c->rq_head + c->rq_len] = t;
    c->rq_s[c->rq_head + c->rq_len] = s;
    c->rq_len++;
    return 0;
}

/* _emit: the score kept, or 0 when it does not escalate within realert_hours */
static int emit(Core *c, double t, double score, double *out) {
    double horizon = c->realert_s;
    while (c->rq_len && c->rq_t[c->rq_head] < t - horizon) {
        c->rq_head++;
        c->rq_len--;
    }
    double recent_max = c->rq_len ? c->rq_s[c->rq_head] : 0.0;
    while (c->rq_len && c->rq_s[c->rq_head + c->rq_len - 1] <= score) c->rq_len--;
    if (c->rq_len == 0) c->rq_head = 0;
    if (rq_push(c, t, score) < 0) return -1;
    *out = score <= recent_max ? 0.0 : score;
    return 0;
}

/* One reading. out: score, kind, p, view (current channel kind), run. */
static int core_update(Core *c, double t, double x, const long long *clock, double *o_score, int8_t *o_kind,
                       double *o_p, int8_t *o_view, int64_t *o_run) {
    *o_p = 1.0;
    *o_run = 0;
    if (!isfinite(x)) {
        *o_score = 0.0;
        *o_kind = K_MISSING;
        *o_view = (int8_t)c->current;
        return 0;
    }
    c->n++;
    int has_gap = 0;
    double gap_p = 1.0;
    if (c->gap_weight > 0) {
        if (c->has_prev_time && c->intervals.n >= 5) {
            double med = win_median(&c->intervals);
            double ratio = (t - c->prev_time) / (1e-9 > med ? 1e-9 : med);
            if (ratio >= c->gap_min) {
                gap_p = calib_p_value(&c->gaps, ratio);
                has_gap = 1;
            }
            if (calib_add(&c->gaps, ratio) < 0) return -1;
        }
    }
    if (c->has_prev_time && t > c->prev_time) {
        if (win_add(&c->intervals, t - c->prev_time) < 0) return -1;
    }
    double ps[3][NSTAT];
    int has[3][NSTAT];
    int present[3] = {0, 0, 0};
    for (int i = 0; i < c->nch; i++) {
        int kind = c->ch_kind[i];
        if (kind == CH_RAW) {
            if (channel_update(c, &c->ch[i], x, ps[i], has[i]) < 0) return -1;
            present[i] = 1;
            continue;
        }
        /* _seasonal_baseline */
        if (c->intervals.n < 5) continue;
        double med = win_median(&c->intervals);
        double bucket = c->bucket_min > med ? c->bucket_min : med;
        if (bucket > 4 * 3600) continue;
        double fl = py_floordiv((double)clock[0], bucket);
        long long slot = (long long)fl;
        double base;
        int ok;
        if (baseline_then_add(c, &c->prof[kind == CH_WEEKLY], slot, (int)clock[1], clock[2], x, &base, &ok) < 0)
            return -1;
        if (ok) {
            if (channel_update(c, &c->ch[i], x - base, ps[i], has[i]) < 0) return -1;
            present[i] = 1;
        }
    }
    /* _choose_channel */
    int eligible[3], ne = 0, cur_ok = 0, best = CH_RAW;
    for (int i = 0; i < c->nch; i++) {
        int kind = c->ch_kind[i];
        if (kind == CH_RAW || (present[i] && c->ch[i].rough_n >= c->season_warmup)) {
            eligible[ne++] = i;
            if (kind == c->current) cur_ok = 1;
        }
    }
    if (cur_ok) best = c->current;
    for (int e = 0; e < ne; e++) {
        int i = eligible[e];
        int kind = c->ch_kind[i];
        if (kind == best) continue;
        int bi = 0;
        for (int j = 0; j < c->nch; j++)
            if (c->ch_kind[j] == best) bi = j;
        if (smoothness(&c->ch[i]) < c->season_gain * smoothness(&c->ch[bi])) best = kind;
    }
    c->current = best;
    int cur = -1;
    for (int i = 0; i < c->nch; i++)
        if (c->ch_kind[i] == c->current && present[i]) cur = i;

    double stuck_p = 0.0;
    int has_stuck = 0;
    if (c->stuck_alpha > 0) {
        has_stuck = stuck_test(c, x, &stuck_p);
        if (has_stuck < 0) return -1;
    }
    if (win_add(&c->levels, x) < 0) return -1;
    c->prev_value = x;
    c->has_prev_value = 1;
    c->prev_time = t;
    c->has_prev_time = 1;

    /* evidence, in the order of the statistics, then stuck, then gap; the first smallest wins */
    int nev = 0, kind = K_NONE;
    double best_e = 0.0;
    if (cur >= 0) {
        for (int j = 0; j < c->nstat; j++) {
            if (!has[cur][j] || !(c->weight[j] > 0)) continue;
            double ev = ps[cur][j] / c->weight[j];
            if (nev == 0 || ev < best_e) {
                best_e = ev;
                kind = K_RANGE + c->stat[j];
            }
            nev++;
        }
    }
    if (has_stuck) {
        double ev = stuck_p > c->stuck_alpha ? stuck_p : c->stuck_alpha;
        if (nev == 0 || ev < best_e) {
            best_e = ev;
            kind = K_STUCK;
        }
        nev++;
    }
    if (has_gap) {
        double ev = gap_p / c->gap_weight;
        if (nev == 0 || ev < best_e) {
            best_e = ev;
            kind = K_GAP;
        }
        nev++;
    }
    *o_view = (int8_t)c->current;
    *o_run = c->run;
    if (c->n <= c->min_history || nev == 0) {
        *o_kind = K_NONE;
        return emit(c, t, 0.0, o_score);
    }
    double p = best_e < 1.0 ? best_e : 1.0;
    double y = -log10(1e-300 > p ? 1e-300 : p) / c->score_decades;
    double z = y > 0.0 ? y : 0.0;
    double score = z < 1.0 ? z : 1.0;
    *o_kind = (int8_t)kind;
    *o_p = p;
    return emit(c, t, score, o_score);
}

/* run(core, t[f64], x[f64], clock[i64 * 3], score[f64], kind[i8], p[f64], view[i8], run[i64]) */
static PyObject *core_run(PyObject *self, PyObject *args) {
    PyObject *cap;
    Py_buffer b[8];
    if (!PyArg_ParseTuple(args, "Oy*y*y*w*w*w*w*w*", &cap, &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7]))
        return NULL;
    Core *c = get_core(cap);
    PyObject *result = NULL;
    if (!c) goto done;
    Py_ssize_t n = b[0].len / 8;
    if (b[1].len != n * 8 || b[2].len != n * 24 || b[3].len != n * 8 || b[4].len != n || b[5].len != n * 8 ||
        b[6].len != n || b[7].len != n * 8) {
        PyErr_SetString(PyExc_ValueError, "buffer sizes do not match");
        goto done;
    }
    const double *t = b[0].buf, *x = b[1].buf;
    const long long *clock = b[2].buf;
    double *sc = b[3].buf, *pp = b[5].buf;
    int8_t *kind = b[4].buf, *view = b[6].buf;
    int64_t *run = b[7].buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (core_update(c, t[i], x[i], clock + 3 * i, sc + i, kind + i, pp + i, view + i, run + i) < 0) {
            if (!PyErr_Occurred()) PyErr_NoMemory();
            goto done;
        }
    }
    result = Py_None;
    Py_INCREF(result);
done:
    for (int i = 0; i < 8; i++) PyBuffer_Release(&b[i]);
    return result;
}

/* ------------------------------------------------------------------------------------------ state in/out */
static PyObject *win_dump(const Window *w) {
    PyObject *raw = PyBytes_FromStringAndSize(NULL, w->n * 8);
    if (!raw) return NULL;
    double *dst = (double *)PyBytes_AS_STRING(raw);
    for (Py_ssize_t i = 0; i < w->n; i++) dst[i] = w->ring[(w->head + i) % w->size];
    return Py_BuildValue("(nNd)", w->size, raw, w->sum);
}

static int win_load(Window *w, PyObject *o) {
    Py_ssize_t size;
    Py_buffer raw;
    double sum;
    if (!PyArg_ParseTuple(o, "ny*d", &size, &raw, &sum)) return -1;
    const double *v = raw.buf;
    Py_ssize_t n = raw.len / 8;
    int bad = size < 1 || raw.len % 8 != 0 || n > size;
    for (Py_ssize_t i = 0; !bad && i < n; i++) bad = !isfinite(v[i]) || fabs(v[i]) > 1e300;
    if (bad) {
        PyBuffer_Release(&raw);
        PyErr_SetString(PyExc_ValueError, "a stored window has the wrong size or a value that is not a number");
        return -1;
    }
    win_free(w);
    win_init(w, size);
    int rc = 0;
    for (Py_ssize_t i = 0; i < n && rc == 0; i++) rc = win_add(w, v[i]);
    PyBuffer_Release(&raw);
    w->sum = sum;
    if (rc < 0 && !PyErr_Occurred()) PyErr_NoMemory();
    return rc;
}

static PyObject *fit_obj(int has, const double *f, int n) {
    if (!has) Py_RETURN_NONE;
    PyObject *t = PyTuple_New(n);
    if (!t) return NULL;
    for (int i = 0; i < n; i++) PyTuple_SET_ITEM(t, i, PyFloat_FromDouble(f[i]));
    return t;
}

static int fit_load(PyObject *o, int *has, double *f, int n) {
    if (o == Py_None) {
        *has = 0;
        return 0;
    }
    if (PySequence_Size(o) != n) {
        PyErr_SetString(PyExc_ValueError, "fit of the wrong length");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        PyObject *x = PySequence_GetItem(o, i);
        if (!x) return -1;
        f[i] = PyFloat_AsDouble(x);
        Py_DECREF(x);
    }
    if (PyErr_Occurred()) return -1;
    *has = 1;
    return 0;
}

static PyObject *opt_float(int has, double v) {
    if (!has) Py_RETURN_NONE;
    return PyFloat_FromDouble(v);
}

/* (n, prev_value, prev_time, intervals, run, stuck_reported, runs, levels, gaps, current, recent, channels,
 *  profiles); see anomaly.py for the dict built from it */
static PyObject *core_dump(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    Core *c = get_core(cap);
    if (!c) return NULL;
    PyObject *runs = PyList_New(c->runs_len);
    if (!runs) return NULL;
    for (Py_ssize_t i = 0; i < c->runs_len; i++) {
        Py_ssize_t j = (c->runs_head + i) % c->stuck_runs;
        PyList_SET_ITEM(runs, i, Py_BuildValue("(dL)", c->runs_v[j], c->runs_n[j]));
    }
    PyObject *recent = PyList_New(c->rq_len);
    for (Py_ssize_t i = 0; recent && i < c->rq_len; i++)
        PyList_SET_ITEM(recent, i, Py_BuildValue("(dd)", c->rq_t[c->rq_head + i], c->rq_s[c->rq_head + i]));
    PyObject *chans = PyList_New(c->nch);
    for (int i = 0; chans && i < c->nch; i++) {
        Channel *ch = &c->ch[i];
        PyObject *rec = PyList_New(ch->recent_n);
        for (int j = 0; rec && j < ch->recent_n; j++)
            PyList_SET_ITEM(rec, j, PyFloat_FromDouble(ch->recent[(ch->recent_head + j) % ch->recent_max]));
        PyObject *tests = PyList_New(c->nstat);
        for (int j = 0; tests && j < c->nstat; j++) {
            TwoTail *t = &ch->tests[j];
            PyList_SET_ITEM(tests, j, Py_BuildValue("(NLN)", win_dump(&t->w), t->added, fit_obj(t->has_fit, t->fit, 5)));
        }
        PyList_SET_ITEM(chans, i, Py_BuildValue("(NdLNN)", opt_float(ch->has_prev, ch->prev), ch->rough, ch->rough_n,
                                                rec, tests));
    }
    PyObject *profs = PyTuple_New(2);
    for (int k = 0; profs && k < 2; k++) {
        Profile *p = &c->prof[k];
        PyObject *slots = PyList_New(p->n);
        for (Py_ssize_t i = 0; slots && i < p->n; i++) {
            Slot *s = &p->slots[i];
            PyObject *vals = PyList_New(s->n);
            for (Py_ssize_t j = 0; vals && j < s->n; j++)
                PyList_SET_ITEM(vals, j, Py_BuildValue("(Ld)", s->day[j], s->val[j]));
            PyList_SET_ITEM(slots, i, Py_BuildValue("(LiN)", s->slot, s->weekday, vals));
        }
        PyTuple_SET_ITEM(profs, k, slots);
    }
    if (PyErr_Occurred()) {
        Py_XDECREF(runs);
        Py_XDECREF(recent);
        Py_XDECREF(chans);
        Py_XDECREF(profs);
        return NULL;
    }
    return Py_BuildValue("(LNNNLiNNNiNNN)", c->n, opt_float(c->has_prev_value, c->prev_value),
                         opt_float(c->has_prev_time, c->prev_time), win_dump(&c->intervals), c->run,
                         c->stuck_reported, runs, win_dump(&c->levels),
                         Py_BuildValue("(NLN)", win_dump(&c->gaps.w), c->gaps.added, fit_obj(c->gaps.has_fit, c->gaps.fit, 3)),
                         c->current, recent, chans, profs);
}

static int load_opt(PyObject *o, int *has, double *v) {
    if (o == Py_None) {
        *has = 0;
        *v = 0.0;
        return 0;
    }
    *v = PyFloat_AsDouble(o);
    *has = 1;
    return PyErr_Occurred() ? -1 : 0;
}

static int channel_load(Core *c, Channel *ch, PyObject *co) {
    PyObject *prev, *rec, *tests;
    long long rough_n;
    if (!PyArg_ParseTuple(co, "OdLOO", &prev, &ch->rough, &rough_n, &rec, &tests)) return -1;
    if (load_opt(prev, &ch->has_prev, &ch->prev) < 0) return -1;
    ch->rough_n = rough_n;
    Py_ssize_t m = PySequence_Size(rec);
    if (m < 0) return -1;
    for (Py_ssize_t j = 0; j < m; j++) {
        PyObject *x = PySequence_GetItem(rec, j);
        double v = x ? PyFloat_AsDouble(x) : 0.0;
        Py_XDECREF(x);
        if (PyErr_Occurred()) return -1;
        if (ch->recent_n < ch->recent_max) {
            ch->recent[(ch->recent_head + ch->recent_n) % ch->recent_max] = v;
            ch->recent_n++;
        } else {
            ch->recent[ch->recent_head] = v;
            ch->recent_head = (ch->recent_head + 1) % ch->recent_max;
        }
    }
    if (PySequence_Size(tests) != c->nstat) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "statistics do not match the configuration");
        return -1;
    }
    for (int j = 0; j < c->nstat; j++) {
        PyObject *to = PySequence_GetItem(tests, j), *w, *fit;
        long long added;
        int ok = to && PyArg_ParseTuple(to, "OLO", &w, &added, &fit);
        if (ok) {
            TwoTail *t = &ch->tests[j];
            ok = win_load(&t->w, w) == 0 && fit_load(fit, &t->has_fit, t->fit, 5) == 0;
            t->added = added;
        }
        Py_XDECREF(to);
        if (!ok) return -1;
    }
    return 0;
}

static PyObject *core_load(PyObject *self, PyObject *args) {
    PyObject *cap, *st;
    if (!PyArg_ParseTuple(args, "OO", &cap, &st)) return NULL;
    Core *c = get_core(cap);
    if (!c) return NULL;
    long long n, run, gadded;
    int stuck_reported, current;
    PyObject *pv, *pt, *intervals, *runs, *levels, *gaps, *recent, *chans, *profs, *gwin, *gfit;
    if (!PyArg_ParseTuple(st, "LOOOLiOOOiOOO", &n, &pv, &pt, &intervals, &run, &stuck_reported, &runs, &levels, &gaps,
                          &current, &recent, &chans, &profs))
        return NULL;
    core_reset(c);
    c->n = n;
    if (load_opt(pv, &c->has_prev_value, &c->prev_value) < 0 || load_opt(pt, &c->has_prev_time, &c->prev_time) < 0)
        return NULL;
    if (win_load(&c->intervals, intervals) < 0) return NULL;
    c->run = run;
    c->stuck_reported = stuck_reported;
    Py_ssize_t nr = PySequence_Size(runs);
    if (nr < 0) return NULL;
    for (Py_ssize_t i = 0; i < nr; i++) {
        PyObject *r = PySequence_GetItem(runs, i);
        double v;
        long long len;
        int ok = r && PyArg_ParseTuple(r, "dL", &v, &len);
        Py_XDECREF(r);
        if (!ok) return NULL;
        Py_ssize_t at;
        if (c->runs_len < c->stuck_runs) {
            at = (c->runs_head + c->runs_len) % c->stuck_runs;
            c->runs_len++;
        } else {
            at = c->runs_head;
            c->runs_head = (c->runs_head + 1) % c->stuck_runs;
        }
        c->runs_v[at] = v;
        c->runs_n[at] = len;
    }
    if (win_load(&c->levels, levels) < 0) return NULL;
    if (!PyArg_ParseTuple(gaps, "OLO", &gwin, &gadded, &gfit)) return NULL;
    if (win_load(&c->gaps.w, gwin) < 0) return NULL;
    c->gaps.min_history = c->min_history;
    c->gaps.tail_fraction = c->tail_fraction;
    c->gaps.min_scale = 1.0;
    c->gaps.added = gadded;
    if (fit_load(gfit, &c->gaps.has_fit, c->gaps.fit, 3) < 0) return NULL;
    c->current = current;
    Py_ssize_t nq = PySequence_Size(recent);
    if (nq < 0) return NULL;
    for (Py_ssize_t i = 0; i < nq; i++) {
        PyObject *r = PySequence_GetItem(recent, i);
        double a, b;
        int ok = r && PyArg_ParseTuple(r, "dd", &a, &b);
        Py_XDECREF(r);
        if (!ok || rq_push(c, a, b) < 0) return NULL;
    }
    if (PySequence_Size(chans) != c->nch) {
        PyErr_SetString(PyExc_ValueError, "channels do not match the configuration");
        return NULL;
    }
    for (int i = 0; i < c->nch; i++) {
        PyObject *co = PySequence_GetItem(chans, i);
        int rc = co ? channel_load(c, &c->ch[i], co) : -1;
        Py_XDECREF(co); /* after channel_load: the items it borrowed from co are done with */
        if (rc < 0) return NULL;
    }
    for (int k = 0; k < 2; k++) {
        PyObject *slots = PySequence_GetItem(profs, k);
        if (!slots) return NULL;
        Py_ssize_t ns = PySequence_Size(slots);
        if (ns < 0) {
            Py_DECREF(slots);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < ns; i++) {
            PyObject *so = PySequence_GetItem(slots, i), *vals;
            long long slot;
            int weekday;
            int ok = so && PyArg_ParseTuple(so, "LiO", &slot, &weekday, &vals);
            Slot *s = ok ? prof_slot(&c->prof[k], slot, weekday) : NULL;
            Py_ssize_t m = s ? PySequence_Size(vals) : -1;
            for (Py_ssize_t j = 0; j < m && s; j++) {
                PyObject *e = PySequence_GetItem(vals, j);
                long long d;
                double v;
                if (!e || !PyArg_ParseTuple(e, "Ld", &d, &v) || slot_append(s, d, v) < 0) s = NULL;
                Py_XDECREF(e);
            }
            Py_XDECREF(so);
            if (!s) {
                Py_DECREF(slots);
                if (!PyErr_Occurred()) PyErr_NoMemory();
                return NULL;
            }
        }
        Py_DECREF(slots);
    }
    Py_RETURN_NONE;
}

/* (readings seen, current view, current run) */
static PyObject *core_info(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    Core *c = get_core(cap);
    if (!c) return NULL;
    return Py_BuildValue("(LiL)", c->n, c->current, c->run);
}

static PyMethodDef methods[] = {
    {"info", core_info, METH_VARARGS, "info(core) -> (readings seen, current view, current run)"},
    {"new", core_new, METH_VARARGS, "new(parameters...) -> core"},
    {"run", core_run, METH_VARARGS, "run(core, t, x, clock, score, kind, p, view, run): score readings in place"},
    {"dump", core_dump, METH_VARARGS, "dump(core) -> state tuple"},
    {"load", core_load, METH_VARARGS, "load(core, state tuple)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_anomaly_core",
                                    "The anomaly detector's per-reading loop (see anomaly.py).", -1, methods};

PyMODINIT_FUNC PyInit__anomaly_core(void) { return PyModule_Create(&module); }
