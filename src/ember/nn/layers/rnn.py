"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (multi-layer, bidirectional, batch_first,
initial states), with PyTorch's parameter names, layouts, gate order and initialisation.

The input-to-hidden projection of a whole sequence is one GEMM per layer and direction; only
the hidden-to-hidden product and the gate arithmetic run per time step (for LSTM inside one
primitive, ``ember.ops.lstm``).

>>> import ember
>>> lstm = ember.nn.LSTM(8, 16, num_layers=2, batch_first=True, bidirectional=True)
>>> out, (h, c) = lstm(ember.randn(4, 5, 8))
>>> out.shape, h.shape, c.shape
((4, 5, 32), (4, 4, 16), (4, 4, 16))
"""

from __future__ import annotations

import math

from ember.api.shape import cat, stack
from ember.core.creation import empty, zeros
from ember.errors import ShapeError
from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.ops.lstm import lstm_sequence

__all__ = ["GRU", "LSTM", "RNN"]


class _RNNBase(Module):
    gates = 1  # gate blocks stacked in the weights (LSTM 4, GRU 3)
    fold_hh_bias = True  # b_hh can join the sequence-wide projection (not for GRU's b_hn)

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        dtype=None,
    ):
        super().__init__()
        if not 0 <= dropout <= 1:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1], got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        dirs = 2 if bidirectional else 1
        g = self.gates * hidden_size
        for layer in range(num_layers):
            size_in = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + sfx, Parameter(empty(g, size_in, dtype=dtype)))
                setattr(self, "weight_hh" + sfx, Parameter(empty(g, hidden_size, dtype=dtype)))
                if bias:
                    setattr(self, "bias_ih" + sfx, Parameter(empty(g, dtype=dtype)))
                    setattr(self, "bias_hh" + sfx, Parameter(empty(g, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # ---- the shared driver ------------------------------------------------------------------

    def _weights(self, layer: int, d: int):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = lambda n: getattr(self, n + sfx) if self.bias or "weight" in n else None  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _check_input(self, input, hx):
        if input.ndim not in (2, 3):
            raise ShapeError(
                f"{type(self).__name__}: expected a 2-D (unbatched) or 3-D input, got shape "
                f"{tuple(input.shape)}"
            )
        if input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{type(self).__name__}: input.size(-1) must be equal to input_size "
                f"({self.input_size}), got input of shape {tuple(input.shape)}"
            )

    def _states(self, hx, batch: int, unbatched: bool, input):
        """Initial states as a list of (num_layers*dirs) tensors of shape (N, H)."""
        dirs = 2 if self.bidirectional else 1
        shape = (self.num_layers * dirs, batch, self.hidden_size)
        if hx is None:
            z = zeros(*shape, dtype=input.dtype)
            return [z[i] for i in range(shape[0])]
        if unbatched:
            hx = hx.unsqueeze(1)
        if tuple(hx.shape) != shape:
            want = (shape[0], shape[2]) if unbatched else shape
            got = tuple(hx.shape[::2]) if unbatched else tuple(hx.shape)
            raise ShapeError(f"{type(self).__name__}: expected hidden size {want}, got {got}")
        return [hx[i] for i in range(shape[0])]

    def _run(self, input, states: list):
        """Run every layer and direction; ``states`` is a list (per layer*dir) of cell states
        (a tuple for LSTM). Returns the output sequence (L, N, D*H) and the final states."""
        dirs = 2 if self.bidirectional else 1
        x = input  # (L, N, C)
        final = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                if b_hh is not None and self.fold_hh_bias:  # one bias add, not two passes
                    b_ih, b_hh = b_ih + b_hh, None
                proj = F.linear(x, w_ih, b_ih)  # (L, N, G*H): the whole sequence in one GEMM
                seq, state = self._sequence(proj, states[layer * dirs + d], w_hh, b_hh, bool(d))
                outs.append(seq)
                final.append(state)
            x = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, final

    def _sequence(self, proj, state, w_hh, b_hh, reverse: bool):
        """The recurrence over one direction: the output sequence and the final state."""
        steps = range(proj.shape[0] - 1, -1, -1) if reverse else range(proj.shape[0])
        seq = [None] * proj.shape[0]
        for t in steps:
            state = self._cell(proj[t], state, w_hh, b_hh)
            seq[t] = state[0] if isinstance(state, tuple) else state
        return stack(seq), state

    def _layout(self, input):
        unbatched = input.ndim == 2
        if unbatched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        return input, unbatched

    def _unlayout(self, out, unbatched: bool):
        if unbatched:
            return out.squeeze(1)
        return out.transpose(0, 1) if self.batch_first else out


class RNN(_RNNBase):
    """Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (use 'tanh' or 'relu')")
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype
        )
        self.nonlinearity = nonlinearity

    def _cell(self, proj, h, w_hh, b_hh):
        pre = proj + F.linear(h, w_hh)
        return pre.tanh() if self.nonlinearity == "tanh" else F.relu(pre)

    def forward(self, input, hx=None):
        self._check_input(input, hx)
        x, unbatched = self._layout(input)
        out, final = self._run(x, self._states(hx, x.shape[1], unbatched, x))
        h = stack(final)
        return self._unlayout(out, unbatched), (h.squeeze(1) if unbatched else h)


class LSTM(_RNNBase):
    """LSTM with PyTorch's gate order (input, forget, cell, output)."""

    gates = 4

    def _sequence(self, proj, state, w_hh, b_hh, reverse: bool):
        # one primitive for the whole recurrence (ember.ops.lstm): ~30x fewer dispatches
        if b_hh is not None or proj.shape[0] == 0:
            return super()._sequence(proj, state, w_hh, b_hh, reverse)
        out = lstm_sequence(proj, state[0], state[1], w_hh, reverse=reverse)  # (L, 7, N, H)
        last = out[0 if reverse else -1]
        return out[:, 0], (last[0], last[1])

    def _cell(self, proj, state, w_hh, b_hh):
        h, c = state
        gates = proj + F.linear(h, w_hh)
        i, f, g, o = gates.chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c

    def forward(self, input, hx=None):
        self._check_input(input, hx)
        x, unbatched = self._layout(input)
        if hx is None:
            hs = cs = self._states(None, x.shape[1], unbatched, x)
        else:
            hs = self._states(hx[0], x.shape[1], unbatched, x)
            cs = self._states(hx[1], x.shape[1], unbatched, x)
        out, final = self._run(x, list(zip(hs, cs)))
        h = stack([s[0] for s in final])
        c = stack([s[1] for s in final])
        if unbatched:
            h, c = h.squeeze(1), c.squeeze(1)
        return self._unlayout(out, unbatched), (h, c)


class GRU(_RNNBase):
    """GRU with PyTorch's gate order (reset, update, new) and its placement of b_hn."""

    gates = 3
    fold_hh_bias = False

    def _cell(self, proj, h, w_hh, b_hh):
        hh = F.linear(h, w_hh, b_hh)
        xr, xz, xn = proj.chunk(3, -1)
        hr, hz, hn = hh.chunk(3, -1)
        r = (xr + hr).sigmoid()
        z = (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        return (1 - z) * n + z * h

    def forward(self, input, hx=None):
        self._check_input(input, hx)
        x, unbatched = self._layout(input)
        out, final = self._run(x, self._states(hx, x.shape[1], unbatched, x))
        h = stack(final)
        return self._unlayout(out, unbatched), (h.squeeze(1) if unbatched else h)
