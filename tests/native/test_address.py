"""``ember.native.address``: the pointer a kernel receives, for every array layout."""

import numpy as np

from ember.native import address


def test_address_is_the_data_pointer_for_every_layout():
    a = np.arange(24.0).reshape(4, 6)
    ro = a.copy()
    ro.flags.writeable = False
    for v in (a, a[1:], a[:, 1:], a.T, a[::-1], a[:0], ro, np.ones(())):
        assert address(v) == v.ctypes.data
