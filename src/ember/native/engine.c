/* The backward executor's walk in C: ember.core.engine.Engine.propagate, its plain case.
 *
 * On small tensors a backward pass is nearly all engine overhead: for every node the Python
 * walk pops it, checks its hooks and saved versions, calls its VJP and routes each input's
 * gradient down its edge, about 3 us per node before NumPy does any work. This file runs
 * the same walk with the same steps in the same order. It is used only for a first-order
 * backward with nothing to observe: no capture (autograd.grad), no pruning to targets, no
 * anomaly checks, no tensors as gradients (create_graph or a trace). Inside the walk, a node
 * it cannot decide alone (a custom Function's node, hooks, retain_grad, a freed graph or a
 * stale saved tensor, which raise) goes to Engine.call, and an edge that needs reshaping or
 * a cast, or leads to one output of several, goes to Engine.fit / Engine.edge_to_output:
 * the semantics and the error messages stay in Python.
 *
 * Built as a CPython extension by ember/native/build.py; ember/core/engine.py uses it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyTypeObject *tensor_type, *ndarray_type, *node_type;
static PyObject *current; /* registry.current: .edges tells a VJP which inputs need gradients */

enum {
    S_NEXT, S_N_OUT, S_SHAPE, S_DTYPE, S_OP, S_VJP, S_ATTRS, S_OUT, S_OUT_VC, S_OUT_VER,
    S_SAVED, S_SAVED_VERS, S_FREED, S_PRE_HOOKS, S_RETAINED, S_EDGES, S_DATA, S_VC, S_CALL,
    S_FIT, S_ADD_TO_OUTPUT, N_NAMES
};
static const char *names[N_NAMES] = {
    "next", "n_out", "shape", "dtype", "op", "vjp", "attrs", "out", "out_vc", "out_ver",
    "saved", "saved_vers", "freed", "pre_hooks", "retained", "edges", "_data", "_vc", "call",
    "fit", "edge_to_output"};
static PyObject *s[N_NAMES];

static int is_none_attr(PyObject *o, int name) { /* 1 if o.<name> is None, 0 if not, -1 */
    PyObject *v = PyObject_GetAttr(o, s[name]);
    if (v == NULL) return -1;
    int r = v == Py_None;
    Py_DECREF(v);
    return r;
}

/* a._vc[0] == version, for a Tensor `a` (-1 on error) */
static int version_is(PyObject *vc_owner, PyObject *vc_name, PyObject *version) {
    PyObject *vc = PyObject_GetAttr(vc_owner, vc_name);
    if (vc == NULL) return -1;
    int r = -1;
    if (PyList_Check(vc) && PyList_GET_SIZE(vc) > 0)
        r = PyObject_RichCompareBool(PyList_GET_ITEM(vc, 0), version, Py_EQ);
    else
        PyErr_SetString(PyExc_TypeError, "a version counter is not a list");
    Py_DECREF(vc);
    return r;
}

/* Set registry.current.edges, keeping a pending exception. */
static int set_edges(PyObject *value) {
    PyObject *type, *val, *tb;
    PyErr_Fetch(&type, &val, &tb);
    int r = PyObject_SetAttr(current, s[S_EDGES], value);
    if (type != NULL) {
        if (r < 0) PyErr_Clear();
        PyErr_Restore(type, val, tb);
        return -1;
    }
    return r;
}

/* Engine.call for a plain node: 1 with the VJP's gradients in *grads (a tuple or list),
 * 0 when the node needs the Python call (custom Function, hooks, retain_grad, freed, a
 * saved tensor modified in place: the Python call raises those errors), -1 on error. */
static int plain_call(PyObject *node, PyObject *g, int retain, PyObject **grads) {
    if (Py_TYPE(node) != node_type) return 0;
    int r = -1, n_args = 0;
    PyObject *out = NULL, *saved = NULL, *vers = NULL, *next = NULL, *op = NULL, *vjp = NULL;
    PyObject *attrs = NULL, *res = NULL, *argv_small[8], **argv = argv_small;
    PyObject *freed = PyObject_GetAttr(node, s[S_FREED]);
    if (freed == NULL) return -1;
    int is_freed = PyObject_IsTrue(freed);
    Py_DECREF(freed);
    if (is_freed) return is_freed < 0 ? -1 : 0;
    int h = is_none_attr(node, S_PRE_HOOKS);
    if (h <= 0) return h;
    h = is_none_attr(node, S_RETAINED);
    if (h <= 0) return h;
    if ((out = PyObject_GetAttr(node, s[S_OUT])) == NULL) return -1;
    if (out != Py_None) {
        PyObject *ver = PyObject_GetAttr(node, s[S_OUT_VER]);
        if (ver == NULL) goto done;
        int ok = version_is(node, s[S_OUT_VC], ver);
        Py_DECREF(ver);
        if (ok <= 0) {
            r = ok;
            goto done;
        }
    }
    if ((next = PyObject_GetAttr(node, s[S_NEXT])) == NULL) goto done;
    if ((saved = PyObject_GetAttr(node, s[S_SAVED])) == NULL) goto done;
    if (!PyTuple_CheckExact(next) || (saved != Py_None && !PyTuple_Check(saved))) {
        r = 0;
        goto done;
    }
    Py_ssize_t n_in = saved == Py_None ? PyTuple_GET_SIZE(next) : PyTuple_GET_SIZE(saved);
    if (n_in + 2 > 8 && (argv = PyMem_Malloc((n_in + 2) * sizeof(PyObject *))) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    argv[0] = Py_NewRef(g), argv[1] = Py_NewRef(out), n_args = 2;
    if (saved == Py_None) {
        for (Py_ssize_t i = 0; i < n_in; i++) argv[n_args++] = Py_NewRef(Py_None);
    } else {
        if ((vers = PyObject_GetAttr(node, s[S_SAVED_VERS])) == NULL) goto done;
        if (vers != Py_None && (!PyTuple_Check(vers) || PyTuple_GET_SIZE(vers) != n_in)) {
            r = 0;
            goto done;
        }
        for (Py_ssize_t i = 0; i < n_in; i++) {
            PyObject *a = PyTuple_GET_ITEM(saved, i);
            if (vers != Py_None && PyObject_TypeCheck(a, tensor_type)) {
                int ok = version_is(a, s[S_VC], PyTuple_GET_ITEM(vers, i));
                if (ok <= 0) {
                    r = ok;
                    goto done;
                }
                PyObject *data = PyObject_GetAttr(a, s[S_DATA]);
                if (data == NULL) goto done;
                argv[n_args++] = data;
            } else {
                argv[n_args++] = Py_NewRef(a);
            }
        }
    }
    if ((op = PyObject_GetAttr(node, s[S_OP])) == NULL) goto done;
    if ((vjp = PyObject_GetAttr(op, s[S_VJP])) == NULL) goto done;
    if ((attrs = PyObject_GetAttr(node, s[S_ATTRS])) == NULL) goto done;
    if (!PyDict_Check(attrs)) {
        r = 0;
        goto done;
    }
    if (set_edges(next) < 0) goto done;
    res = PyObject_VectorcallDict(vjp, argv, n_args, PyDict_GET_SIZE(attrs) ? attrs : NULL);
    if (set_edges(Py_None) < 0 || res == NULL) goto done;
    if (!PyTuple_Check(res) && !PyList_Check(res)) Py_SETREF(res, PyTuple_Pack(1, res));
    if (res == NULL) goto done;
    if (!retain && ((saved != Py_None && vers != NULL && vers != Py_None) || out != Py_None)) {
        /* Node.release: the saved data goes (metadata-only saves stay) */
        if (PyObject_SetAttr(node, s[S_SAVED], Py_None) < 0 ||
            PyObject_SetAttr(node, s[S_OUT], Py_None) < 0 ||
            PyObject_SetAttr(node, s[S_FREED], Py_True) < 0)
            goto done;
    }
    *grads = res;
    res = NULL;
    r = 1;
done:
    for (int i = 0; i < n_args; i++) Py_DECREF(argv[i]);
    if (argv != argv_small) PyMem_Free(argv);
    Py_XDECREF(out), Py_XDECREF(saved), Py_XDECREF(vers), Py_XDECREF(next);
    Py_XDECREF(op), Py_XDECREF(vjp), Py_XDECREF(attrs), Py_XDECREF(res);
    return r;
}

/* 1 when `g` is an ndarray of `shape` and `dtype` (no fit needed), 0 if not, -1 on error */
static int fits(PyObject *g, PyObject *shape, PyObject *dtype) {
    if (Py_TYPE(g) != ndarray_type) return 0;
    PyObject *gs = PyObject_GetAttr(g, s[S_SHAPE]);
    if (gs == NULL) return -1;
    int r = PyObject_RichCompareBool(gs, shape, Py_EQ);
    Py_DECREF(gs);
    if (r != 1) return r;
    PyObject *gd = PyObject_GetAttr(g, s[S_DTYPE]);
    if (gd == NULL) return -1;
    r = gd == dtype ? 1 : PyObject_RichCompareBool(gd, dtype, Py_EQ);
    Py_DECREF(gd);
    return r;
}

/* gi fitted to (shape, dtype) by Engine.fit when it does not fit already (a new reference;
 * gi's reference is stolen) */
static PyObject *fitted(PyObject *engine, PyObject *gi, PyObject *shape, PyObject *dtype,
                        PyObject *node, Py_ssize_t i) {
    int f = fits(gi, shape, dtype);
    if (f != 0) {
        if (f < 0) Py_CLEAR(gi);
        return gi;
    }
    PyObject *idx = PyLong_FromSsize_t(i);
    PyObject *r = idx ? PyObject_CallMethodObjArgs(engine, s[S_FIT], gi, shape, dtype, node,
                                                   idx, NULL)
                      : NULL;
    Py_XDECREF(idx);
    Py_DECREF(gi);
    return r;
}

/* buf[key] = g, or buf[key] + g when a gradient is there already (g's reference stolen) */
static int accumulate(PyObject *d, PyObject *key, PyObject *g) {
    PyObject *prev = PyDict_GetItemWithError(d, key);
    if (prev == NULL && PyErr_Occurred()) {
        Py_DECREF(g);
        return -1;
    }
    if (prev != NULL) {
        Py_SETREF(g, PyNumber_Add(prev, g));
        if (g == NULL) return -1;
    }
    int r = PyDict_SetItem(d, key, g);
    Py_DECREF(g);
    return r;
}

/* The gradient `gi` down the edge to the leaf tensor `e`: summed in leaf_buf[id(e)] */
static int to_leaf(PyObject *engine, PyObject *leaf_buf, PyObject *e, PyObject *gi,
                   PyObject *node, Py_ssize_t i) {
    PyObject *data = PyObject_GetAttr(e, s[S_DATA]);
    if (data == NULL) return -1;
    PyObject *shape = PyObject_GetAttr(data, s[S_SHAPE]);
    PyObject *dtype = shape ? PyObject_GetAttr(data, s[S_DTYPE]) : NULL;
    Py_DECREF(data);
    gi = dtype ? fitted(engine, Py_NewRef(gi), shape, dtype, node, i) : NULL;
    Py_XDECREF(shape), Py_XDECREF(dtype);
    if (gi == NULL) return -1;
    PyObject *key = PyLong_FromVoidPtr(e); /* id(e) */
    if (key == NULL) {
        Py_DECREF(gi);
        return -1;
    }
    int r = -1;
    PyObject *entry = PyDict_GetItemWithError(leaf_buf, key);
    if (entry != NULL && PyList_CheckExact(entry) && PyList_GET_SIZE(entry) == 2) {
        PyObject *sum = PyNumber_Add(PyList_GET_ITEM(entry, 1), gi);
        if (sum != NULL) r = PyList_SetItem(entry, 1, sum); /* steals sum */
    } else if (entry == NULL && !PyErr_Occurred()) {
        PyObject *pair = PyList_New(2);
        if (pair != NULL) {
            PyList_SET_ITEM(pair, 0, Py_NewRef(e));
            PyList_SET_ITEM(pair, 1, Py_NewRef(gi));
            r = PyDict_SetItem(leaf_buf, key, pair);
            Py_DECREF(pair);
        }
    } else if (entry != NULL) {
        PyErr_SetString(PyExc_TypeError, "leaf_buf holds an entry that is not [leaf, grad]");
    }
    Py_DECREF(key);
    Py_DECREF(gi);
    return r;
}

/* The gradient `gi` down the edge to node `e` (one output): fitted, summed in buf[e] */
static int to_node(PyObject *engine, PyObject *buf, PyObject *e, PyObject *gi,
                   PyObject *node, Py_ssize_t i) {
    PyObject *shape = PyObject_GetAttr(e, s[S_SHAPE]);
    PyObject *dtype = shape ? PyObject_GetAttr(e, s[S_DTYPE]) : NULL;
    PyObject *n_out = dtype ? PyObject_GetAttr(e, s[S_N_OUT]) : NULL;
    int r = -1;
    if (n_out != NULL) {
        gi = fitted(engine, Py_NewRef(gi), shape, dtype, node, i);
        if (gi != NULL) {
            long k = PyLong_AsLong(n_out);
            if (k == 1) {
                r = accumulate(buf, e, gi);
            } else if (!PyErr_Occurred()) { /* Engine.add_to(buf, e, 0, gi), by Python */
                PyObject *res = PyObject_CallMethod(engine, "add_to", "OOiO", buf, e, 0, gi);
                r = res == NULL ? -1 : 0;
                Py_XDECREF(res);
                Py_DECREF(gi);
            } else {
                Py_DECREF(gi);
            }
        }
    }
    Py_XDECREF(shape), Py_XDECREF(dtype), Py_XDECREF(n_out);
    return r;
}

/* propagate(engine, ready, deps, buf, leaf_buf): Engine.propagate for a plain backward
 * (see the top of this file; the caller checks the engine is plain). */
static PyObject *propagate(PyObject *self, PyObject *const *argv, Py_ssize_t nargv) {
    (void)self;
    if (nargv != 6 || !PyList_CheckExact(argv[1]) || !PyDict_CheckExact(argv[2]) ||
        !PyDict_CheckExact(argv[3]) || !PyDict_CheckExact(argv[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "propagate(engine, ready, deps, buf, leaf_buf, retain): bad arguments");
        return NULL;
    }
    PyObject *engine = argv[0], *ready = argv[1], *deps = argv[2], *buf = argv[3];
    PyObject *leaf_buf = argv[4];
    int retain = PyObject_IsTrue(argv[5]);
    if (retain < 0) return NULL;
    while (PyList_GET_SIZE(ready) > 0) {
        Py_ssize_t last = PyList_GET_SIZE(ready) - 1;
        PyObject *node = Py_NewRef(PyList_GET_ITEM(ready, last));
        PyObject *grads = NULL, *next = NULL;
        if (PyList_SetSlice(ready, last, last + 1, NULL) < 0) goto fail;
        PyObject *g = PyDict_GetItemWithError(buf, node); /* buf.pop(node, None) */
        if (g == NULL && PyErr_Occurred()) goto fail;
        if (g != NULL) {
            Py_INCREF(g);
            if (PyDict_DelItem(buf, node) < 0) {
                Py_DECREF(g);
                goto fail;
            }
            int done = plain_call(node, g, retain, &grads);
            if (done == 0)
                grads = PyObject_CallMethodObjArgs(engine, s[S_CALL], node, g, NULL);
            Py_DECREF(g);
            if (done < 0 || grads == NULL) goto fail;
            if (!PyTuple_Check(grads) && !PyList_Check(grads)) {
                Py_SETREF(grads, PySequence_Tuple(grads));
                if (grads == NULL) goto fail;
            }
        }
        Py_ssize_t n = grads == NULL ? 0 : PySequence_Fast_GET_SIZE(grads);
        if ((next = PyObject_GetAttr(node, s[S_NEXT])) == NULL) goto fail;
        if (!PyTuple_Check(next)) {
            PyErr_SetString(PyExc_TypeError, "a node's edges (next) are not a tuple");
            goto fail;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(next); i++) {
            PyObject *e = PyTuple_GET_ITEM(next, i);
            if (e == Py_None) continue;
            PyObject *gi = i < n ? PySequence_Fast_GET_ITEM(grads, i) : Py_None;
            PyObject *target = e;
            if (PyObject_TypeCheck(e, tensor_type)) {
                if (gi != Py_None && to_leaf(engine, leaf_buf, e, gi, node, i) < 0) goto fail;
                continue;
            }
            if (PyTuple_CheckExact(e)) { /* (node, output index): Engine.edge_to_output */
                if (PyTuple_GET_SIZE(e) != 2) {
                    PyErr_SetString(PyExc_TypeError, "an edge tuple is not (node, index)");
                    goto fail;
                }
                target = PyTuple_GET_ITEM(e, 0);
                if (gi != Py_None) {
                    PyObject *idx = PyLong_FromSsize_t(i);
                    PyObject *r = idx ? PyObject_CallMethodObjArgs(engine, s[S_ADD_TO_OUTPUT],
                                                                   buf, e, gi, node, idx, NULL)
                                      : NULL;
                    Py_XDECREF(idx);
                    if (r == NULL) goto fail;
                    Py_DECREF(r);
                }
            } else if (gi != Py_None && to_node(engine, buf, e, gi, node, i) < 0) {
                goto fail;
            }
            PyObject *left = PyDict_GetItemWithError(deps, target); /* deps[target] -= 1 */
            if (left == NULL) {
                if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, target);
                goto fail;
            }
            long k = PyLong_AsLong(left) - 1;
            if (k == -2 && PyErr_Occurred()) goto fail;
            PyObject *kk = PyLong_FromLong(k);
            if (kk == NULL || PyDict_SetItem(deps, target, kk) < 0) {
                Py_XDECREF(kk);
                goto fail;
            }
            Py_DECREF(kk);
            if (k == 0 && PyList_Append(ready, target) < 0) goto fail;
        }
        Py_DECREF(next);
        Py_XDECREF(grads);
        Py_DECREF(node);
        continue;
    fail:
        Py_XDECREF(next);
        Py_XDECREF(grads);
        Py_DECREF(node);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* install(Tensor, ndarray, Node, registry.current) */
static PyObject *install(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *tensor, *ndarray, *node, *cur;
    if (!PyArg_ParseTuple(args, "O!O!O!O", &PyType_Type, &tensor, &PyType_Type, &ndarray,
                          &PyType_Type, &node, &cur))
        return NULL;
    for (int i = 0; i < N_NAMES; i++)
        if (s[i] == NULL && (s[i] = PyUnicode_InternFromString(names[i])) == NULL) return NULL;
    Py_XSETREF(tensor_type, (PyTypeObject *)Py_NewRef(tensor));
    Py_XSETREF(ndarray_type, (PyTypeObject *)Py_NewRef(ndarray));
    Py_XSETREF(node_type, (PyTypeObject *)Py_NewRef(node));
    Py_XSETREF(current, Py_NewRef(cur));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"propagate", (PyCFunction)(void (*)(void))propagate, METH_FASTCALL,
     "propagate(engine, ready, deps, buf, leaf_buf, retain): Engine.propagate in C."},
    {"install", install, METH_VARARGS, "install(Tensor, ndarray, Node, registry.current)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ember_engine", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ember_engine(void) { return PyModule_Create(&module); }
