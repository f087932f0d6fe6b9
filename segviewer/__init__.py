"""segviewer: semantic segmentation of driving scenes — browse, train, overlay, augment, evaluate."""

__version__ = "0.1.0"
