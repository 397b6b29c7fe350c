/* The eager dispatcher's common case in C: ember.core.dispatch.apply for an op on tensors.
 *
 * A tiny op is nearly all framework overhead: in Python, apply's checks, the forward call and
 * building the result Tensor cost about 1 us, more than NumPy's own work on a 4x4 array.
 * This function does the same steps with the Tensor's and the Op's slots read and written at
 * their offsets. It takes only the case it can decide alone: one to four arguments, Tensors
 * (and subclasses with Tensor's slots, as nn.Parameter) and Python scalars (at least one
 * Tensor), no trace running, the harness's rule checks off, and for an op that checks dtypes
 * (``op.prep``) tensors of one dtype that the op takes as they are, with scalars that need
 * no promotion. Every other call, and every
 * call whose forward raises, goes to the Python apply, which runs the whole logic again
 * (forwards are pure) and raises the error that names the op. Views and autograd recording
 * call the Python helpers (a view made while nothing records only shares its input's version
 * counter and base, here), so the semantics stay in one place.
 *
 * Built as a CPython extension by ember/native/build.py; ember/core/dispatch.py installs it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

static PyObject *py_apply, *py_record, *py_as_view;
static PyTypeObject *tensor_type, *ndarray_type, *op_type_;
static PyObject *asarray, *tracer_list, *rules_list, *enabled_list, *zero_list, *float_dtypes;
static PyObject *s_dtype, *s_base;
/* slot offsets: Tensor._data, ._rg, ... and Op.prep, .direct, .forward, .view, .vjp */
static Py_ssize_t t_data, t_rg, t_grad, t_node, t_vc, t_base, t_hooks, t_out_idx;
static Py_ssize_t o_prep, o_direct, o_forward, o_view, o_vjp;

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

static int slot_offset(PyObject *type, const char *name, Py_ssize_t *off) {
    PyObject *d = PyObject_GetAttrString(type, name);
    if (d == NULL) return -1;
    if (Py_TYPE(d) != &PyMemberDescr_Type ||
        ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
        Py_DECREF(d);
        PyErr_Format(PyExc_TypeError, "%s is not an object slot", name);
        return -1;
    }
    *off = ((PyMemberDescrObject *)d)->d_member->offset;
    Py_DECREF(d);
    return 0;
}

/* Subclasses of Tensor (nn.Parameter) that keep its slots: the same offsets hold the same
 * fields. Checked once per type: the slots this file reads must be Tensor's own. */
#define MAX_SUBTYPES 8
static PyTypeObject *subtypes[MAX_SUBTYPES];
static int n_subtypes;
static PyObject *slot_names[4], *slot_descrs[4]; /* _data, _rg, _vc, _base of Tensor */

static int is_tensor(PyObject *a) {
    PyTypeObject *tp = Py_TYPE(a);
    if (tp == tensor_type) return 1;
    for (int i = 0; i < n_subtypes; i++)
        if (subtypes[i] == tp) return 1;
    if (n_subtypes == MAX_SUBTYPES || !PyType_IsSubtype(tp, tensor_type)) return 0;
    for (int i = 0; i < 4; i++) /* a property over a slot would make the offsets lie */
        if (_PyType_Lookup(tp, slot_names[i]) != slot_descrs[i]) return 0;
    subtypes[n_subtypes++] = (PyTypeObject *)Py_NewRef(tp);
    return 1;
}

static PyObject *fallback(PyObject *const *argv, Py_ssize_t nargv) {
    return PyObject_Vectorcall(py_apply, argv, nargv, NULL);
}

/* A new leaf Tensor over `data` (a reference stolen), as tensor._wrap builds it. */
static PyObject *wrap(PyObject *data) {
    PyObject *t = tensor_type->tp_alloc(tensor_type, 0);
    if (t == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    PyObject *vc = PyList_New(1);
    if (vc == NULL) {
        Py_DECREF(t);
        Py_DECREF(data);
        return NULL;
    }
    PyList_SET_ITEM(vc, 0, Py_NewRef(PyList_GET_ITEM(zero_list, 0)));
    SLOT(t, t_data) = data;
    SLOT(t, t_rg) = Py_NewRef(Py_False);
    SLOT(t, t_grad) = Py_NewRef(Py_None);
    SLOT(t, t_node) = Py_NewRef(Py_None);
    SLOT(t, t_vc) = vc;
    SLOT(t, t_base) = Py_NewRef(Py_None);
    SLOT(t, t_hooks) = Py_NewRef(Py_None);
    SLOT(t, t_out_idx) = Py_NewRef(PyList_GET_ITEM(zero_list, 0));
    return t;
}

/* Whether `out` is a view of the input array `a` (see dispatch._as_view); -1 on error. */
static int is_view(PyObject *out, PyObject *a) {
    PyObject *ob = PyObject_GetAttr(out, s_base);
    if (ob == NULL) return -1;
    int v = 0;
    if (ob != Py_None) {
        if (ob == a) {
            v = 1;
        } else {
            PyObject *ab = PyObject_GetAttr(a, s_base);
            if (ab == NULL) {
                Py_DECREF(ob);
                return -1;
            }
            v = ab == ob;
            Py_DECREF(ab);
        }
    }
    Py_DECREF(ob);
    return v;
}

static PyObject *apply(PyObject *self, PyObject *const *argv, Py_ssize_t nargv) {
    if (nargv != 3 || !PyTuple_CheckExact(argv[1]) || !PyDict_CheckExact(argv[2]))
        return fallback(argv, nargv);
    PyObject *op = argv[0], *args = argv[1], *attrs = argv[2];
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (Py_TYPE(op) != op_type_ || n < 1 || n > 4 || PyList_GET_ITEM(tracer_list, 0) != Py_None ||
        PyList_GET_ITEM(rules_list, 0) != Py_False)
        return fallback(argv, nargv);
    PyObject *arrays[4];
    int rg = 0, tensors = 0, float_scalar = 0, other = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i);
        if (Py_TYPE(a) == tensor_type || (!PyFloat_CheckExact(a) && is_tensor(a))) {
            arrays[i] = SLOT(a, t_data);
            PyObject *r = SLOT(a, t_rg);
            if (arrays[i] == NULL || r == NULL) return fallback(argv, nargv);
            rg |= r == Py_True;
            tensors++;
        } else if (PyFloat_CheckExact(a)) { /* Python scalars go to NumPy as they are */
            arrays[i] = a;
            float_scalar = 1;
        } else if (PyLong_CheckExact(a) || PyBool_Check(a) || a == Py_None) {
            arrays[i] = a;
            other |= a == Py_None;
        } else {
            return fallback(argv, nargv); /* arrays, NumPy scalars, other subclasses */
        }
    }
    PyObject *prep = SLOT(op, o_prep), *forward = SLOT(op, o_forward);
    if (prep == NULL || forward == NULL || tensors == 0) return fallback(argv, nargv);
    if (prep == Py_True) {
        /* tensors of one dtype that the op takes as they are, and Python scalars that NumPy
         * promotes as PyTorch does (a float scalar only with a float tensor): the Python
         * apply's no-conversion case */
        if (other) return fallback(argv, nargv);
        PyObject *d = NULL;
        int ok = 1;
        for (Py_ssize_t i = 0; i < n && ok; i++) {
            PyObject *ai = PyTuple_GET_ITEM(args, i);
            if (arrays[i] == ai) continue; /* a Python scalar */
            PyObject *di = PyObject_GetAttr(arrays[i], s_dtype);
            if (di == NULL) {
                Py_XDECREF(d);
                return NULL;
            }
            if (d == NULL)
                d = di;
            else {
                ok = di == d;
                Py_DECREF(di);
            }
        }
        PyObject *direct = SLOT(op, o_direct);
        if (ok) ok = direct != NULL && PySet_Contains(direct, d) == 1;
        if (ok && float_scalar) ok = PySet_Contains(float_dtypes, d) == 1;
        Py_DECREF(d);
        if (!ok) {
            PyErr_Clear();
            return fallback(argv, nargv);
        }
    }
    PyObject *out = PyObject_VectorcallDict(forward, arrays, n, PyDict_GET_SIZE(attrs) ? attrs : NULL);
    if (out == NULL) { /* the Python apply runs it again and names the op in its error */
        PyErr_Clear();
        return fallback(argv, nargv);
    }
    if (Py_TYPE(out) != ndarray_type) {
        Py_SETREF(out, PyObject_CallOneArg(asarray, out));
        if (out == NULL) return NULL;
    }
    PyObject *t = wrap(out);
    if (t == NULL) return NULL;
    if (SLOT(op, o_view) == Py_True && arrays[0] != PyTuple_GET_ITEM(args, 0)) {
        int v = is_view(out, arrays[0]);
        PyObject *src = PyTuple_GET_ITEM(args, 0);
        PyObject *vc = SLOT(src, t_vc), *base = SLOT(src, t_base);
        if (v < 0) {
            Py_DECREF(t);
            return NULL;
        }
        if (v && !rg && vc != NULL && base != NULL) { /* share the version counter and base */
            Py_SETREF(SLOT(t, t_vc), Py_NewRef(vc));
            Py_SETREF(SLOT(t, t_base), Py_NewRef(base != Py_None ? base : src));
        } else if (v) { /* recording a view: the Python helper notes it on its base too */
            PyObject *r =
                PyObject_CallFunctionObjArgs(py_as_view, t, args, op, attrs, Py_True, NULL);
            if (r == NULL) {
                Py_DECREF(t);
                return NULL;
            }
            Py_DECREF(r);
        }
    }
    if (rg && PyList_GET_ITEM(enabled_list, 0) == Py_True && SLOT(op, o_vjp) != Py_None) {
        PyObject *r = PyObject_CallFunctionObjArgs(py_record, op, t, args, attrs, NULL);
        if (r == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        Py_DECREF(r);
    }
    return t;
}

/* ---- Tensor methods whose common call skips Python entirely: x.reshape(...), x.sum() ----
 *
 * On a tiny tensor the Python frames of the method, of ``apply`` and of the op's forward cost
 * more than NumPy's work. These take only a tensor that records nothing (no requires_grad, no
 * trace, no rule checks) and arguments they can read at once; every other call, and every
 * call NumPy refuses, goes to the Python method, which raises the error that names the op. */

static PyObject *m_fallback[2], *np_empty, *np_add_reduce, *empty_tuple, *s_reshape;

/* A Tensor (or a subclass with its slots) that nothing records. */
static int plain(PyObject *self) {
    return is_tensor(self) && PyList_GET_ITEM(tracer_list, 0) == Py_None &&
           PyList_GET_ITEM(rules_list, 0) == Py_False && SLOT(self, t_rg) == Py_False &&
           SLOT(self, t_data) != NULL && SLOT(self, t_vc) != NULL && SLOT(self, t_base) != NULL;
}

static PyObject *call_fallback(int which, PyObject *self, PyObject *const *args, size_t nargsf,
                               PyObject *kwnames) {
    Py_ssize_t n = PyVectorcall_NARGS(nargsf), nk = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    PyObject *small[8], **argv = small;
    if (n + nk + 1 > 8 && (argv = PyMem_Malloc((n + nk + 1) * sizeof(PyObject *))) == NULL)
        return PyErr_NoMemory();
    argv[0] = self;
    for (Py_ssize_t i = 0; i < n + nk; i++) argv[i + 1] = args[i];
    PyObject *r = PyObject_Vectorcall(m_fallback[which], argv, n + 1, kwnames);
    if (argv != small) PyMem_Free(argv);
    return r;
}

/* The result of a view op on `src` (data `a`): it shares src's version counter and base, as
 * apply's view branch does for a tensor that records nothing; a copy is a new leaf. */
static PyObject *wrap_view(PyObject *out, PyObject *a, PyObject *src) {
    int v = is_view(out, a);
    PyObject *t = v < 0 ? NULL : wrap(out);
    if (v < 0) Py_DECREF(out);
    if (t == NULL || !v) return t;
    PyObject *base = SLOT(src, t_base);
    Py_SETREF(SLOT(t, t_vc), Py_NewRef(SLOT(src, t_vc)));
    Py_SETREF(SLOT(t, t_base), Py_NewRef(base != Py_None ? base : src));
    return t;
}

static PyObject *tensor_reshape(PyObject *self, PyObject *const *args, size_t nargsf,
                                PyObject *kwnames) {
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || n < 1 || !plain(self)) goto slow;
    PyObject *shape;
    if (n == 1 && (PyTuple_CheckExact(args[0]) || PyList_CheckExact(args[0])))
        shape = PySequence_Tuple(args[0]);
    else if (n == 1 && !PyLong_CheckExact(args[0]))
        goto slow;
    else {
        shape = PyTuple_New(n);
        for (Py_ssize_t i = 0; shape != NULL && i < n; i++)
            PyTuple_SET_ITEM(shape, i, Py_NewRef(args[i]));
    }
    if (shape == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(shape); i++) {
        if (!PyLong_CheckExact(PyTuple_GET_ITEM(shape, i))) { /* bools, NumPy ints, junk */
            Py_DECREF(shape);
            goto slow;
        }
    }
    PyObject *a = SLOT(self, t_data);
    PyObject *out = PyObject_CallMethodOneArg(a, s_reshape, shape);
    Py_DECREF(shape);
    if (out == NULL || Py_TYPE(out) != ndarray_type) { /* a bad shape: the Python method */
        Py_XDECREF(out);                               /* names it */
        PyErr_Clear();
        goto slow;
    }
    return wrap_view(out, a, self);
slow:
    return call_fallback(0, self, args, nargsf, kwnames);
}

static PyObject *tensor_sum(PyObject *self, PyObject *const *args, size_t nargsf,
                            PyObject *kwnames) {
    if (kwnames != NULL || PyVectorcall_NARGS(nargsf) != 0 || !plain(self)) goto slow;
    PyObject *a = SLOT(self, t_data);
    PyObject *d = PyObject_GetAttr(a, s_dtype);
    if (d == NULL) return NULL;
    if (PySet_Contains(float_dtypes, d) != 1) { /* integers and bools sum to int64 */
        Py_DECREF(d);
        PyErr_Clear();
        goto slow;
    }
    /* the op's forward for a reduction over every dim: NumPy's add.reduce into a 0-d array */
    PyObject *mk[2] = {empty_tuple, d};
    PyObject *out = PyObject_Vectorcall(np_empty, mk, 2, NULL);
    Py_DECREF(d);
    if (out == NULL) return NULL;
    PyObject *red[4] = {a, Py_None, Py_None, out};
    PyObject *r = PyObject_Vectorcall(np_add_reduce, red, 4, NULL);
    Py_DECREF(out);
    if (r == NULL || Py_TYPE(r) != ndarray_type) {
        Py_XDECREF(r);
        PyErr_Clear();
        goto slow;
    }
    return wrap(r);
slow:
    return call_fallback(1, self, args, nargsf, kwnames);
}

static PyMethodDef tensor_methods[2] = {
    {"reshape", (PyCFunction)(void (*)(void))tensor_reshape, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"sum", (PyCFunction)(void (*)(void))tensor_sum, METH_FASTCALL | METH_KEYWORDS, NULL},
};

/* method(name, python_method): a method descriptor of Tensor for `name` ("reshape" or "sum")
 * that takes its common call in C and hands the others to `python_method` (whose docstring
 * it shows). Needs install first. */
static PyObject *method(PyObject *self, PyObject *args) {
    const char *name;
    PyObject *fallback_fn;
    if (!PyArg_ParseTuple(args, "sO", &name, &fallback_fn)) return NULL;
    if (tensor_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "method: install() has not run");
        return NULL;
    }
    int k = strcmp(name, "reshape") == 0 ? 0 : strcmp(name, "sum") == 0 ? 1 : -1;
    if (k < 0) return PyErr_Format(PyExc_ValueError, "method: no C method named %s", name);
    if (np_empty == NULL) {
        PyObject *np = PyImport_ImportModule("numpy");
        PyObject *add = np ? PyObject_GetAttrString(np, "add") : NULL;
        np_empty = np ? PyObject_GetAttrString(np, "empty") : NULL;
        np_add_reduce = add ? PyObject_GetAttrString(add, "reduce") : NULL;
        Py_XDECREF(add);
        Py_XDECREF(np);
        empty_tuple = PyTuple_New(0);
        s_reshape = PyUnicode_InternFromString("reshape");
        if (!np_empty || !np_add_reduce || !empty_tuple || !s_reshape) {
            Py_CLEAR(np_empty);
            Py_CLEAR(np_add_reduce);
            Py_CLEAR(empty_tuple);
            Py_CLEAR(s_reshape);
            return NULL;
        }
    }
    PyObject *doc = PyObject_GetAttrString(fallback_fn, "__doc__");
    if (doc == NULL) return NULL;
    Py_XSETREF(m_fallback[k], Py_NewRef(fallback_fn));
    /* the docstring lives as long as the function kept above */
    tensor_methods[k].ml_doc = PyUnicode_Check(doc) ? PyUnicode_AsUTF8(doc) : NULL;
    Py_DECREF(doc);
    return PyDescr_NewMethod(tensor_type, &tensor_methods[k]);
}

/* install(python_apply, record, as_view, Tensor, Op, ndarray, asarray, tracer, check_rules,
 * grad_enabled, float_dtypes): keep what apply needs. The three lists are read at every call. */
static PyObject *install(PyObject *self, PyObject *args) {
    /* everything is checked before anything is kept: a failed install leaves the module as
     * it was (a working dispatcher keeps working) */
    PyObject *f_apply, *f_record, *f_as_view, *tensor, *op_type, *ndarray, *f_asarray;
    PyObject *tracer, *rules, *enabled, *floats;
    if (!PyArg_ParseTuple(args, "OOOOOOOO!O!O!O!", &f_apply, &f_record, &f_as_view, &tensor,
                          &op_type, &ndarray, &f_asarray, &PyList_Type, &tracer, &PyList_Type,
                          &rules, &PyList_Type, &enabled, &PyFrozenSet_Type, &floats))
        return NULL;
    if (!PyType_Check(tensor) || !PyType_Check(ndarray) || !PyType_Check(op_type)) {
        PyErr_SetString(PyExc_TypeError, "install: expected the Tensor, Op and ndarray types");
        return NULL;
    }
    Py_ssize_t off[13];
    const char *tensor_slots[] = {"_data", "_rg", "_grad", "_node", "_vc", "_base", "_hooks",
                                  "_out_idx"};
    const char *op_slots[] = {"prep", "direct", "forward", "view", "vjp"};
    for (int i = 0; i < 8; i++)
        if (slot_offset(tensor, tensor_slots[i], &off[i])) return NULL;
    for (int i = 0; i < 5; i++)
        if (slot_offset(op_type, op_slots[i], &off[8 + i])) return NULL;
    const char *read[] = {"_data", "_rg", "_vc", "_base"};
    PyObject *names[4], *descrs[4];
    for (int i = 0; i < 4; i++) {
        names[i] = PyUnicode_InternFromString(read[i]);
        descrs[i] = names[i] ? PyObject_GetAttr(tensor, names[i]) : NULL;
        if (descrs[i] == NULL) {
            for (int j = 0; j <= i; j++) Py_XDECREF(names[j]), Py_XDECREF(j < i ? descrs[j] : NULL);
            return NULL;
        }
    }
    for (int i = 0; i < 4; i++) {
        Py_XSETREF(slot_names[i], names[i]);
        Py_XSETREF(slot_descrs[i], descrs[i]);
    }
    for (int i = 0; i < n_subtypes; i++) Py_CLEAR(subtypes[i]);
    n_subtypes = 0;
    if (zero_list == NULL) zero_list = Py_BuildValue("[i]", 0);
    if (s_dtype == NULL) s_dtype = PyUnicode_InternFromString("dtype");
    if (s_base == NULL) s_base = PyUnicode_InternFromString("base");
    if (zero_list == NULL || s_dtype == NULL || s_base == NULL) return NULL;
    t_data = off[0], t_rg = off[1], t_grad = off[2], t_node = off[3], t_vc = off[4];
    t_base = off[5], t_hooks = off[6], t_out_idx = off[7];
    o_prep = off[8], o_direct = off[9], o_forward = off[10], o_view = off[11], o_vjp = off[12];
    Py_XSETREF(py_apply, Py_NewRef(f_apply));
    Py_XSETREF(py_record, Py_NewRef(f_record));
    Py_XSETREF(py_as_view, Py_NewRef(f_as_view));
    Py_XSETREF(asarray, Py_NewRef(f_asarray));
    Py_XSETREF(tracer_list, Py_NewRef(tracer));
    Py_XSETREF(rules_list, Py_NewRef(rules));
    Py_XSETREF(enabled_list, Py_NewRef(enabled));
    Py_XSETREF(float_dtypes, Py_NewRef(floats));
    Py_XSETREF(tensor_type, (PyTypeObject *)Py_NewRef(tensor));
    Py_XSETREF(ndarray_type, (PyTypeObject *)Py_NewRef(ndarray));
    Py_XSETREF(op_type_, (PyTypeObject *)Py_NewRef(op_type));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"apply", (PyCFunction)(void (*)(void))apply, METH_FASTCALL,
     "apply(op, args, attrs): ember.core.dispatch.apply, its common case in C."},
    {"install", install, METH_VARARGS, "Give the module what apply needs (see dispatch.c)."},
    {"method", method, METH_VARARGS, "method(name, python_method): a C Tensor method."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ember_dispatch", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ember_dispatch(void) { return PyModule_Create(&module); }
