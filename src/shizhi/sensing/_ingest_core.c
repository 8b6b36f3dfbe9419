/* The readings pipe's fast path in C (读数接入快速通道): the loop of ingest._Batch.fast_python, line for line.
 *
 * For each parsed record: its device and quantity from the catalogue, its time (whole seconds, or an ISO string
 * through the time cache and parse_time), its value (a float, or an int turned into one), the physical range and
 * the sane time window; a record that passes becomes the row (device, quantity, second, value) and counts for its
 * device; any other goes to the careful path by its index, exactly as the Python loop decides (tested on the same
 * records). Lookups of a device's quantity facts are cached for the call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static PyObject *s_device, *s_quantity, *s_time, *s_value, *s_quantities, *s_id, *s_min, *s_max, *s_watched;

typedef struct {
    PyObject *info, *q; /* strong references, the cache key */
    PyObject *did, *qid;
    long long did_ll;
    double lo, hi;
    int watched;
} Spec;

typedef struct {
    Spec *a;
    Py_ssize_t cap, n;
} SpecMap;

typedef struct {
    long long did;
    PyObject *did_obj;
    long long count, min, max;
} Dev;

typedef struct {
    Dev *a;
    Py_ssize_t *order; /* first appearance */
    Py_ssize_t cap, n;
} DevMap;

static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static void specs_free(SpecMap *m) {
    for (Py_ssize_t i = 0; i < m->cap; i++)
        if (m->a[i].info) {
            Py_DECREF(m->a[i].info);
            Py_DECREF(m->a[i].q);
            Py_DECREF(m->a[i].did);
            Py_DECREF(m->a[i].qid);
        }
    PyMem_Free(m->a);
}

static Spec *spec_find(SpecMap *m, PyObject *info, PyObject *q) {
    uint64_t h = mix((uint64_t)(uintptr_t)info * 31 + (uint64_t)(uintptr_t)q);
    for (Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)(m->cap - 1));; j = (j + 1) & (m->cap - 1)) {
        Spec *s = &m->a[j];
        if (!s->info || (s->info == info && s->q == q)) return s;
    }
}

static int specs_grow(SpecMap *m) {
    Py_ssize_t old = m->cap;
    Spec *a = m->a;
    m->cap = old ? old * 2 : 256;
    m->a = PyMem_Calloc((size_t)m->cap, sizeof(Spec));
    if (!m->a) {
        m->a = a;
        m->cap = old;
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < old; i++)
        if (a[i].info) *spec_find(m, a[i].info, a[i].q) = a[i];
    PyMem_Free(a);
    return 0;
}

/* the cached facts of (device, quantity); NULL with an exception on failure */
static Spec *spec_of(SpecMap *m, PyObject *info, PyObject *q) {
    if ((m->n + 1) * 2 > m->cap && specs_grow(m) < 0) return NULL;
    Spec *s = spec_find(m, info, q);
    if (s->info) return s;
    PyObject *did = PyObject_GetAttr(info, s_id), *qid = PyObject_GetAttr(q, s_id);
    PyObject *lo = PyObject_GetAttr(q, s_min), *hi = PyObject_GetAttr(q, s_max), *w = PyObject_GetAttr(q, s_watched);
    int ok = did && qid && lo && hi && w;
    double dlo = ok ? PyFloat_AsDouble(lo) : 0, dhi = ok ? PyFloat_AsDouble(hi) : 0;
    long long dll = ok ? PyLong_AsLongLong(did) : 0;
    int watched = ok ? PyObject_IsTrue(w) : -1;
    Py_XDECREF(lo);
    Py_XDECREF(hi);
    Py_XDECREF(w);
    if (!ok || PyErr_Occurred() || watched < 0) {
        Py_XDECREF(did);
        Py_XDECREF(qid);
        return NULL;
    }
    Py_INCREF(info);
    Py_INCREF(q);
    s->info = info;
    s->q = q;
    s->did = did;
    s->qid = qid;
    s->did_ll = dll;
    s->lo = dlo;
    s->hi = dhi;
    s->watched = watched;
    m->n++;
    return s;
}

static Dev *dev_find(DevMap *m, long long did) {
    for (Py_ssize_t j = (Py_ssize_t)(mix((uint64_t)did) & (uint64_t)(m->cap - 1));; j = (j + 1) & (m->cap - 1)) {
        Dev *d = &m->a[j];
        if (!d->did_obj || d->did == did) return d;
    }
}

static int devs_grow(DevMap *m) {
    Py_ssize_t old = m->cap;
    Dev *a = m->a;
    Py_ssize_t *order = m->order;
    m->cap = old ? old * 2 : 256;
    m->a = PyMem_Calloc((size_t)m->cap, sizeof(Dev));
    m->order = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)m->cap);
    if (!m->a || !m->order) {
        PyMem_Free(m->a);
        PyMem_Free(m->order);
        m->a = a;
        m->order = order;
        m->cap = old;
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < m->n; i++) { /* re-insert in first-appearance order */
        Dev *src = &a[order[i]];
        Dev *dst = dev_find(m, src->did);
        *dst = *src;
        m->order[i] = dst - m->a;
    }
    PyMem_Free(a);
    PyMem_Free(order);
    return 0;
}

static void devs_free(DevMap *m) {
    for (Py_ssize_t i = 0; i < m->cap; i++) Py_XDECREF(m->a[i].did_obj);
    PyMem_Free(m->a);
    PyMem_Free(m->order);
}

/* a record's field: new reference; NULL and *skip = 1 when Python's lookup would raise KeyError, TypeError or
 * IndexError (the record goes the careful way); NULL and *skip = 0 for any other error */
static PyObject *field(PyObject *r, PyObject *key, int *skip) {
    PyObject *v;
    if (PyDict_CheckExact(r)) {
        v = PyDict_GetItemWithError(r, key);
        if (v) {
            Py_INCREF(v);
            return v;
        }
        if (!PyErr_Occurred()) {
            *skip = 1;
            return NULL;
        }
    } else {
        v = PyObject_GetItem(r, key);
        if (v) return v;
    }
    if (PyErr_ExceptionMatches(PyExc_KeyError) || PyErr_ExceptionMatches(PyExc_TypeError) ||
        PyErr_ExceptionMatches(PyExc_IndexError)) {
        PyErr_Clear();
        *skip = 1;
    }
    return NULL;
}

static PyObject *lookup(PyObject *mapping, PyObject *key, int *skip) {
    if (PyDict_CheckExact(mapping)) {
        PyObject *v = PyDict_GetItemWithError(mapping, key);
        if (v) {
            Py_INCREF(v);
            return v;
        }
        if (!PyErr_Occurred()) {
            *skip = 1;
            return NULL;
        }
        if (PyErr_ExceptionMatches(PyExc_TypeError)) { /* unhashable */
            PyErr_Clear();
            *skip = 1;
        }
        return NULL;
    }
    return field(mapping, key, skip);
}

/* fast(items, devices, tcache, parse_time, latest_ok, earliest, rows, watched, per_device) -> slow indexes */
static PyObject *fast(PyObject *self, PyObject *args) {
    PyObject *items, *devices, *tcache, *parse_time, *rows, *watched, *per_device;
    long long latest_ok, earliest;
    if (!PyArg_ParseTuple(args, "O!O!O!OLLO!O!O!", &PyList_Type, &items, &PyDict_Type, &devices, &PyDict_Type,
                          &tcache, &parse_time, &latest_ok, &earliest, &PyList_Type, &rows, &PyList_Type, &watched,
                          &PyDict_Type, &per_device))
        return NULL;
    PyObject *slow = PyList_New(0);
    if (!slow) return NULL;
    SpecMap specs = {0};
    DevMap devs = {0};
    int failed = 0;
    if (specs_grow(&specs) < 0 || devs_grow(&devs) < 0) failed = 1;
    for (Py_ssize_t index = 0; !failed && index < PyList_GET_SIZE(items); index++) {
        PyObject *r = PyList_GET_ITEM(items, index);
        Py_INCREF(r);
        int skip = 0;
        PyObject *code = NULL, *info = NULL, *quantities = NULL, *qcode = NULL, *q = NULL, *t = NULL, *v = NULL;
        PyObject *ts_obj = NULL, *v_obj = NULL, *row = NULL;
        long long ts = 0;
        double value = 0;
        Spec *spec = NULL;
        /* info = devices[r["device"]]; q = info.quantities[r["quantity"]]; t = r["time"]; v = r["value"] */
        if (!(code = field(r, s_device, &skip))) goto next;
        if (!(info = lookup(devices, code, &skip))) goto next;
        if (!(quantities = PyObject_GetAttr(info, s_quantities))) goto next;
        if (!(qcode = field(r, s_quantity, &skip))) goto next;
        if (!(q = lookup(quantities, qcode, &skip))) goto next;
        if (!(t = field(r, s_time, &skip))) goto next;
        if (!(v = field(r, s_value, &skip))) goto next;
        if (PyLong_CheckExact(t)) {
            int overflow = 0;
            long long x = PyLong_AsLongLongAndOverflow(t, &overflow);
            if (overflow || (x == -1 && PyErr_Occurred())) { /* far outside the sane window either way */
                PyErr_Clear();
                skip = 1;
                goto next;
            }
            if (x < 100000000000LL) {
                ts = x;
                Py_INCREF(t);
                ts_obj = t;
            } else {
                ts = x / 1000; /* positive: floor division */
                ts_obj = PyLong_FromLongLong(ts);
                if (!ts_obj) goto next;
            }
        } else if (PyUnicode_CheckExact(t)) {
            PyObject *got = PyDict_GetItemWithError(tcache, t); /* tcache.get(t) */
            if (got && got != Py_None) {
                Py_INCREF(got);
                ts_obj = got;
            } else {
                if (PyErr_Occurred()) goto next;
                ts_obj = PyObject_CallOneArg(parse_time, t);
                if (!ts_obj) goto next;
                if (ts_obj == Py_None) {
                    skip = 1;
                    goto next;
                }
            }
            int overflow = 0;
            ts = PyLong_AsLongLongAndOverflow(ts_obj, &overflow);
            if (overflow || (ts == -1 && PyErr_Occurred())) {
                PyErr_Clear();
                skip = 1;
                goto next;
            }
        } else {
            skip = 1;
            goto next;
        }
        if (PyFloat_CheckExact(v)) {
            value = PyFloat_AS_DOUBLE(v);
            Py_INCREF(v);
            v_obj = v;
        } else if (PyLong_CheckExact(v)) {
            value = PyLong_AsDouble(v);
            if (value == -1.0 && PyErr_Occurred()) {
                if (!PyErr_ExceptionMatches(PyExc_OverflowError)) goto next;
                PyErr_Clear();
                skip = 1;
                goto next;
            }
            if (fabs(value) > 0x1p1023) { /* ingest.MAX_INT_VALUE: no float for it, not a number */
                skip = 1;
                goto next;
            }
            v_obj = PyFloat_FromDouble(value);
            if (!v_obj) goto next;
        } else {
            skip = 1;
            goto next;
        }
        if (!(spec = spec_of(&specs, info, q))) goto next;
        /* NaN fails both comparisons, infinities the range: both go the careful way */
        if (!(spec->lo <= value && value <= spec->hi) || ts > latest_ok || ts < earliest) {
            skip = 1;
            goto next;
        }
        row = PyTuple_Pack(4, spec->did, spec->qid, ts_obj, v_obj);
        if (!row || PyList_Append(rows, row) < 0 || (spec->watched && PyList_Append(watched, row) < 0)) goto next;
        if ((devs.n + 1) * 2 > devs.cap && devs_grow(&devs) < 0) goto next;
        Dev *d = dev_find(&devs, spec->did_ll);
        if (!d->did_obj) {
            d->did = spec->did_ll;
            Py_INCREF(spec->did);
            d->did_obj = spec->did;
            d->count = 1;
            d->min = d->max = ts;
            devs.order[devs.n++] = d - devs.a;
        } else {
            d->count++;
            if (ts > d->max)
                d->max = ts;
            else if (ts < d->min)
                d->min = ts;
        }
    next:
        if (!skip && PyErr_Occurred()) failed = 1;
        if (skip) {
            PyObject *ix = PyLong_FromSsize_t(index);
            if (!ix || PyList_Append(slow, ix) < 0) failed = 1;
            Py_XDECREF(ix);
        }
        Py_XDECREF(row);
        Py_XDECREF(v_obj);
        Py_XDECREF(ts_obj);
        Py_XDECREF(v);
        Py_XDECREF(t);
        Py_XDECREF(q);
        Py_XDECREF(qcode);
        Py_XDECREF(quantities);
        Py_XDECREF(info);
        Py_XDECREF(code);
        Py_DECREF(r);
    }
    /* per_device[did] = [count, oldest, newest], merged with what is there */
    for (Py_ssize_t i = 0; !failed && i < devs.n; i++) {
        Dev *d = &devs.a[devs.order[i]];
        PyObject *st = PyDict_GetItemWithError(per_device, d->did_obj);
        if (st && PyList_Check(st) && PyList_GET_SIZE(st) == 3) {
            long long c = PyLong_AsLongLong(PyList_GET_ITEM(st, 0)), lo = PyLong_AsLongLong(PyList_GET_ITEM(st, 1));
            long long hi = PyLong_AsLongLong(PyList_GET_ITEM(st, 2));
            if (PyErr_Occurred()) {
                failed = 1;
                break;
            }
            d->count += c;
            if (lo < d->min) d->min = lo;
            if (hi > d->max) d->max = hi;
        } else if (PyErr_Occurred()) {
            failed = 1;
            break;
        }
        PyObject *nst = Py_BuildValue("[LLL]", d->count, d->min, d->max);
        if (!nst || PyDict_SetItem(per_device, d->did_obj, nst) < 0) failed = 1;
        Py_XDECREF(nst);
    }
    specs_free(&specs);
    devs_free(&devs);
    if (failed) {
        Py_DECREF(slow);
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return NULL;
    }
    return slow;
}

static PyMethodDef methods[] = {
    {"fast", fast, METH_VARARGS,
     "fast(items, devices, tcache, parse_time, latest_ok, earliest, rows, watched, per_device) -> slow indexes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ingest_core",
                                    "The readings pipe's fast path (see ingest.py).", -1, methods};

PyMODINIT_FUNC PyInit__ingest_core(void) {
    const char *names[] = {"device", "quantity", "time", "value", "quantities", "id", "min_value", "max_value",
                           "watched"};
    PyObject **slots[] = {&s_device, &s_quantity, &s_time, &s_value, &s_quantities, &s_id, &s_min, &s_max,
                          &s_watched};
    for (int i = 0; i < 9; i++) {
        *slots[i] = PyUnicode_InternFromString(names[i]);
        if (!*slots[i]) return NULL;
    }
    return PyModule_Create(&module);
}
