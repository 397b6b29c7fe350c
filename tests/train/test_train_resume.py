"""Resuming: 4 epochs, a full checkpoint, fresh objects, 4 more epochs == 8 epochs in one go
(bitwise, float64), with shuffling, dropout, Adam and an lr scheduler in play."""

import numpy as np
import pytest

import ember
from ember import nn
from ember.errors import EmberError
from ember.train import callbacks as cb
from ember.train import load_checkpoint, save_checkpoint


def build(seed):
    ember.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    model = model.double()
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    model.compile(opt, "cross_entropy", metrics=["accuracy"])
    return model, opt, sched


def dataset():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((90, 6))
    y = (x[:, :3].sum(1) > 0).astype(np.int64) + (x[:, 3] > 1).astype(np.int64)
    return x, y


def run(model, sched, x, y, epochs, initial_epoch=0, extra=()):
    return model.fit(
        x,
        y,
        batch_size=16,
        epochs=epochs,
        initial_epoch=initial_epoch,
        shuffle=True,
        validation_split=0.2,
        verbose=0,
        callbacks=[cb.SchedulerCallback(sched), *extra],
    )


def test_resume_from_checkpoint_is_bitwise_identical(tmp_path):
    x, y = dataset()
    full, _, full_sched = build(seed=1)
    ember.manual_seed(123)
    h_full = run(full, full_sched, x, y, epochs=8)

    first, _, first_sched = build(seed=1)
    ember.manual_seed(123)
    path = str(tmp_path / "ckpt-{epoch}.safetensors")
    run(first, first_sched, x, y, epochs=4, extra=[cb.ModelCheckpoint(path, scheduler=first_sched)])

    # fresh objects, built from another seed, and the generator moved on: the checkpoint
    # must restore everything that matters
    resumed, opt, sched = build(seed=99)
    ember.rand(17)
    epoch = load_checkpoint(path.format(epoch=4), resumed, opt, sched)
    assert epoch == 4
    h_rest = run(resumed, sched, x, y, epochs=8, initial_epoch=epoch)

    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a._data, b._data, err_msg=name)
    assert h_rest.epoch == [4, 5, 6, 7]
    assert h_rest.history["loss"] == h_full.history["loss"][4:]
    assert h_rest.history["lr"] == h_full.history["lr"][4:]
    assert h_full.history["lr"][:7] == [0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025]


def test_without_the_rng_state_the_run_differs(tmp_path):
    # the test above would be vacuous if shuffling/dropout did not depend on the RNG
    x, y = dataset()
    full, _, full_sched = build(seed=1)
    ember.manual_seed(123)
    run(full, full_sched, x, y, epochs=6)
    first, opt1, sched1 = build(seed=1)
    ember.manual_seed(123)
    run(first, sched1, x, y, epochs=4)
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, first, opt1, sched1, epoch=4)
    resumed, opt, sched = build(seed=1)
    ember.manual_seed(7)
    load_checkpoint(path, resumed, opt, sched, restore_rng=False)
    run(resumed, sched, x, y, epochs=6, initial_epoch=4)
    assert not np.array_equal(full[0].weight._data, resumed[0].weight._data)


def test_load_checkpoint_errors(tmp_path):
    model, opt, _ = build(seed=0)
    weights_only = tmp_path / "w.safetensors"
    ember.save(model.state_dict(), weights_only)
    with pytest.raises(EmberError, match="load_checkpoint: .*w.safetensors is not a training"):
        load_checkpoint(weights_only, model, opt)
    no_opt = tmp_path / "m.safetensors"
    save_checkpoint(no_opt, model, epoch=1)
    with pytest.raises(EmberError, match="load_checkpoint: .*m.safetensors holds no optimizer"):
        load_checkpoint(no_opt, model, opt)
    assert load_checkpoint(no_opt, model) == 1
