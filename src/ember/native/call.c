/* Calling a C kernel on NumPy arrays in one checked step.
 *
 * Through ctypes, a kernel call on small arrays is mostly the call itself: every array's
 * address costs about 0.5 us in Python (the buffer protocol, wrapped), ctypes converts each
 * argument again, and the checks that keep a wrong array from being read out of bounds are
 * a Python loop: a fused kernel with six arrays spent about 7 us per call before doing any
 * work, more than NumPy's four ops on 256 elements take. Here the same call and the same
 * checks take about 1 us.
 *
 * call(fn, split, shape, spec, arrays, *ints) runs ``int fn(const long *dims, void *const
 * *ptrs)`` with dims = (rows, cols, *ints) (a Python float among the ints is passed as its
 * double's bits, which the kernel copies out), rows and cols the products of ``shape[:split]``
 * and ``shape[split:]``, and ptrs the arrays' data, with the GIL released (as ctypes does).
 * ``spec`` holds two bytes per array: how the kernel uses it ('e' reads every element, 'w'
 * writes every element, 'c' reads one row of columns, 'C' writes one, 'r' reads one value
 * per row, 'R' writes one per row, 'o' reads one value, 'O' writes one) and its buffer format ('f'
 * float32, 'd' float64, '?' bool, 'l' int64). An array that is not a C-contiguous buffer of
 * that format and element count (writable, for an output) raises (BufferError, TypeError or
 * ValueError) before the kernel runs.
 *
 * Built as a CPython extension by ember/native/build.py; ember/native/call.py loads it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_ARRAYS 64
#define MAX_INTS 6

typedef int (*kernel_fn)(const long *, void *const *);

static int fits(const Py_buffer *v, char kind, char format, long rows, long cols) {
    long want = kind == 'e' || kind == 'w'   ? rows * cols
                : kind == 'c' || kind == 'C' ? cols
                : kind == 'r' || kind == 'R' ? rows
                                              : 1;
    const char *f = v->format ? v->format : "B";
    if (f[0] == '=' || f[0] == '<' || f[0] == '@') f++; /* native order, spelled out */
    return f[0] == format && f[1] == '\0' && v->itemsize > 0 && v->len == want * v->itemsize;
}

static PyObject *call(PyObject *self, PyObject *const *argv, Py_ssize_t nargv) {
    if (nargv < 5 || nargv > 5 + MAX_INTS || !PyTuple_Check(argv[2]) || !PyBytes_Check(argv[3]) ||
        !PyList_Check(argv[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "call(fn, split, shape: tuple, spec: bytes, arrays: list, *ints)");
        return NULL;
    }
    kernel_fn fn = (kernel_fn)PyLong_AsVoidPtr(argv[0]);
    long split = PyLong_AsLong(argv[1]);
    if (PyErr_Occurred()) return NULL;
    if (fn == NULL) {
        PyErr_SetString(PyExc_ValueError, "call: a NULL kernel");
        return NULL;
    }
    PyObject *shape = argv[2], *arrays = argv[4];
    Py_ssize_t nd = PyTuple_GET_SIZE(shape), na = PyList_GET_SIZE(arrays);
    const char *spec = PyBytes_AS_STRING(argv[3]);
    if (split < 0 || split > nd || na > MAX_ARRAYS || PyBytes_GET_SIZE(argv[3]) != 2 * na) {
        PyErr_Format(PyExc_ValueError,
                     "call: split %ld of a %zd-d shape, %zd arrays (at most %d), spec of %zd",
                     split, nd, na, MAX_ARRAYS, PyBytes_GET_SIZE(argv[3]));
        return NULL;
    }
    long dims[2 + MAX_INTS] = {1, 1};
    for (Py_ssize_t i = 5; i < nargv; i++) {
        if (PyFloat_CheckExact(argv[i])) { /* a double's bits in its slot (memcpy: no aliasing) */
            double x = PyFloat_AS_DOUBLE(argv[i]);
            memcpy(&dims[i - 3], &x, sizeof x);
            continue;
        }
        dims[i - 3] = PyLong_AsLong(argv[i]);
        if (PyErr_Occurred()) return NULL;
    }
    for (Py_ssize_t i = 0; i < nd; i++) {
        long d = PyLong_AsLong(PyTuple_GET_ITEM(shape, i));
        if (d < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "call: a negative dim");
            return NULL;
        }
        dims[i >= split] *= d;
    }
    void *ptrs[MAX_ARRAYS];
    Py_buffer views[MAX_ARRAYS];
    Py_ssize_t held = 0;
    PyObject *result = NULL;
    for (; held < na; held++) {
        Py_buffer *v = &views[held];
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
        char kind = spec[2 * held];
        if (kind == 'w' || kind == 'C' || kind == 'R' || kind == 'O') flags |= PyBUF_WRITABLE;
        if (PyObject_GetBuffer(PyList_GET_ITEM(arrays, held), v, flags) < 0)
            goto done;
        if (!fits(v, spec[2 * held], spec[2 * held + 1], dims[0], dims[1])) {
            PyErr_Format(PyExc_ValueError, "call: array %zd is not %c-format of kind %c", held,
                         spec[2 * held + 1], spec[2 * held]);
            PyBuffer_Release(v);
            goto done;
        }
        ptrs[held] = v->buf;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = fn(dims, ptrs);
    Py_END_ALLOW_THREADS
    result = PyLong_FromLong(status);
done:
    for (Py_ssize_t i = 0; i < held; i++) PyBuffer_Release(&views[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"call", (PyCFunction)(void (*)(void))call, METH_FASTCALL,
     "call(fn, split, shape, spec, arrays): a generated kernel on checked arrays (call.c)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ember_call", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ember_call(void) { return PyModule_Create(&module); }
