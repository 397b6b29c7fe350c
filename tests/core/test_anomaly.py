"""detect_anomaly: a NaN made in backward names the op and the user's line of its forward."""

import inspect
import re

import pytest
import torch

import ember

pytestmark = [
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled:UserWarning"),
    pytest.mark.filterwarnings("ignore:Error detected in ExpBackward0:UserWarning"),
]


def next_line() -> int:
    """The number of the line after the caller's."""
    return inspect.currentframe().f_back.f_lineno + 1


def test_nan_in_backward_names_the_op_and_the_forward_line():
    x = ember.tensor([1000.0, 0.0], requires_grad=True)
    with ember.autograd.detect_anomaly():
        line = next_line()  # the forward below: its line must be reported
        y = x.exp()
        with pytest.raises(ember.AutogradError) as info:
            y.backward(ember.tensor([0.0, 1.0]))  # 0 * exp(1000) = 0 * inf = nan in backward
    msg = str(info.value)
    assert msg.startswith("exp backward produced NaN: the gradient for input 0 of 'exp'")
    assert f"{__file__}:{line} in test_nan_in_backward_names_the_op_and_the_forward_line" in msg
    # torch's anomaly mode catches the same NaN
    xt = torch.tensor([1000.0, 0.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="returned nan values"):
            xt.exp().backward(torch.tensor([0.0, 1.0]))


def test_without_anomaly_mode_the_nan_passes_silently():
    x = ember.tensor([1000.0, 0.0], requires_grad=True)
    x.exp().backward(ember.tensor([0.0, 1.0]))
    assert x.grad.isnan().tolist() == [True, False]
    assert not ember.autograd.is_anomaly_enabled()


def test_nan_from_a_custom_function_names_it():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = ember.ones(2, requires_grad=True)
    with ember.autograd.detect_anomaly():
        line = next_line()  # the forward below: its line must be reported
        out = Bad.apply(x)
        with pytest.raises(ember.AutogradError, match=re.escape(f"{__file__}:{line}")) as info:
            out.sum().backward()
    assert str(info.value).startswith("Bad backward produced NaN")


def test_anomaly_mode_as_decorator_and_switch():
    @ember.autograd.detect_anomaly()
    def inside():
        return ember.autograd.is_anomaly_enabled()

    assert inside() and not ember.autograd.is_anomaly_enabled()
    ember.autograd.set_detect_anomaly(True)
    try:
        assert ember.autograd.is_anomaly_enabled()
    finally:
        ember.autograd.set_detect_anomaly(False)
    assert not ember.autograd.is_anomaly_enabled()
    with ember.autograd.set_detect_anomaly(True):
        assert ember.autograd.is_anomaly_enabled()
    assert not ember.autograd.is_anomaly_enabled()


def test_anomaly_mode_adds_the_forward_line_to_inplace_errors():
    x = ember.ones(2, requires_grad=True)
    with ember.autograd.detect_anomaly():
        h = x * 1.0
        line = next_line()  # the forward below: its line must be reported
        y = h * h
        h.add_(1)
        with pytest.raises(ember.AutogradError, match=re.escape(f"created at {__file__}:{line}")):
            y.sum().backward()


def test_check_nan_false_records_lines_without_checking():
    x = ember.tensor([1000.0], requires_grad=True)
    with ember.autograd.detect_anomaly(check_nan=False):
        assert ember.autograd.is_anomaly_enabled()
        assert not ember.autograd.is_anomaly_check_nan_enabled()
        x.exp().backward(ember.tensor([0.0]))
        h = x * 1.0
        line = next_line()  # the forward below: its line must be reported
        y = h * h
        h.add_(1)
        with pytest.raises(ember.AutogradError, match=re.escape(f"created at {__file__}:{line}")):
            y.sum().backward()
    assert x.grad.isnan().tolist() == [True]
