"""The main demo (for now): fit a small MLP to a noisy sine with ember's eager autograd."""

import math

import ember


def main() -> None:
    ember.manual_seed(0)
    x = ember.linspace(-math.pi, math.pi, 256).reshape(-1, 1)
    y = ember.sin(x) + 0.05 * ember.randn(256, 1)
    w1 = (ember.randn(1, 32) * 0.5).requires_grad_()
    b1 = ember.zeros(32, requires_grad=True)
    w2 = (ember.randn(32, 1) * 0.2).requires_grad_()
    b2 = ember.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    lr = 0.05
    for step in range(401):
        pred = ember.tanh(x @ w1 + b1) @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        loss.backward()
        with ember.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        if step % 50 == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")


if __name__ == "__main__":
    main()
