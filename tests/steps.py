"""The ordinary classifier training step that the compiler tests trace (plain user code)."""

import ember.nn.functional as F


def classifier_step(model, opt):
    """``step(x, y)``: zero the grads, cross-entropy of ``model(x)``, backward, update."""

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step
