"""The training curves' axes read in the units a user thinks in."""

from __future__ import annotations

import re


def test_epoch_axis_has_no_si_prefix_during_the_first_epoch(qtbot):
    from segviewer.gui.panes.training_charts import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(500, 400)
    curves.show()
    for step in range(1, 27):  # the first half of epoch 1: x runs 1/53 .. 26/53
        curves.add_batch(step / 53, 2.0 - step / 53)
    curves.flush()
    axis = curves.loss_plot.getPlotItem().getAxis("bottom")
    qtbot.waitUntil(lambda: axis.range[1] < 1.0)  # the view has followed the data
    label = re.sub(r"<[^>]+>", "", axis.labelString()).strip()
    assert label == "epoch"  # not "epoch (x0.001)"
    ticks = [
        text
        for level in axis.tickValues(*axis.range, axis.width())
        for text in axis.tickStrings(level[1], axis.autoSIPrefixScale * axis.scale, level[0])
    ]
    assert ticks and all(float(t) < 1.0 for t in ticks), ticks  # fractions of epoch 1, not 0..500
